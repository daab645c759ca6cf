// STATIC_DIR over real HTTP: a web application's files served at `/` beside the API
// and the WebSocket endpoint, with their content types; hostile paths (raw, not
// normalised by a client) get 404 and nothing from outside; a bad STATIC_DIR stops
// the start with one line.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { BIN, startServer, rawExchange } = require('./harness');

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'natsync-static-'));
const site = path.join(root, 'site');
fs.mkdirSync(path.join(site, 'js'), { recursive: true });
fs.writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>app</title>');
fs.writeFileSync(path.join(site, 'js', 'app.js'), 'console.log("app")');
fs.writeFileSync(path.join(site, '.env'), 'SECRET=hunter2');
fs.writeFileSync(path.join(root, 'outside.txt'), 'OUTSIDE');
fs.symlinkSync(path.join(root, 'outside.txt'), path.join(site, 'escape.txt'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('files are served with their types; the API and /ws/sync are unchanged', async () => {
  const server = await startServer({ STATIC_DIR: site });
  const home = await fetch(`${server.http}/`);
  assert.equal(home.status, 200);
  assert.equal(home.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(home.headers.get('x-content-type-options'), 'nosniff');
  assert.match(await home.text(), /<title>app<\/title>/);
  const script = await fetch(`${server.http}/js/app.js`);
  assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(await script.text(), 'console.log("app")');
  const redirect = await fetch(`${server.http}/js`, { redirect: 'manual' });
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get('location'), '/js/');
  assert.equal((await fetch(`${server.http}/js/`)).status, 404, 'no listing');
  assert.equal((await fetch(`${server.http}/api/sync/status`)).status, 200);
  const missingApi = await fetch(`${server.http}/api/nope`);
  assert.equal(missingApi.status, 404);
  assert.equal((await missingApi.json()).code, 'not_found');
  assert.equal((await fetch(`${server.http}/`, { method: 'POST', body: '{}' })).status, 404);
  assert.equal((await fetch(`${server.http}/ws/sync`)).status, 426);
  await server.stopClean();
});

test('hostile paths get 404 and nothing from outside the directory', async () => {
  const server = await startServer({ STATIC_DIR: site });
  for (const target of ['/../outside.txt', '/js/../../outside.txt', '/%2e%2e/outside.txt', '/js/%2e%2e%2f%2e%2e%2foutside.txt',
    '/..%5coutside.txt', '/.env', '/%2eenv', '/escape.txt', '/index.html%00.js', '/js/app.js/', '//..//outside.txt',
    `/${'a/'.repeat(2000)}x`, '/%', '/%zz', '/' + '%2e%2e/'.repeat(50) + 'etc/passwd']) {
    const response = await rawExchange(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(response, /^HTTP\/1\.1 (404|400|431)/, `${target.slice(0, 60)}: ${response.slice(0, 80)}`);
    assert.doesNotMatch(response, /OUTSIDE|hunter2|root:/, target.slice(0, 60));
  }
  assert.equal((await fetch(`${server.http}/`)).status, 200, 'still serving');
  await server.stopClean();
});

test('a STATIC_DIR that is no directory stops the start with one line', () => {
  for (const dir of [path.join(root, 'missing'), path.join(root, 'outside.txt')]) {
    const result = spawnSync(BIN, [], { env: { ...process.env, LISTEN_ADDR: '127.0.0.1:0', STATIC_DIR: dir }, encoding: 'utf8', timeout: 10000 });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /STATIC_DIR/);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  }
});
