// TLS (TLS_CERT_FILE / TLS_KEY_FILE): https:// and wss:// on one port with a
// certificate made at run time by the openssl CLI, driven by real clients (Node's
// https and tls, npm ws); the config checks, plain HTTP on the TLS port, and a
// certificate reload on SIGHUP.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const https = require('node:https');
const tls = require('node:tls');
const { spawnSync } = require('node:child_process');
const { BIN, startServer, makeCertificate, Client, rawExchange, waitFor } = require('./harness');

// One HTTPS request trusting `ca`; resolves { status, json }.
function request(url, { ca, method = 'GET', body, agent } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca, agent, headers: body ? { 'Content-Type': 'application/json' } : {} },
      (res) => {
        const protocol = res.socket.getProtocol();
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => { let json; try { json = JSON.parse(text); } catch { json = undefined; } resolve({ status: res.statusCode, json, protocol }); });
      });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

// The common name of the certificate a new TLS connection to `port` is served.
function servedName(port, ca) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', ca, rejectUnauthorized: false }, () => {
      const name = socket.getPeerCertificate().subject.CN;
      socket.destroy();
      resolve(name);
    });
    socket.on('error', reject);
  });
}

const tlsEnv = (cert, extra = {}) => ({ TLS_CERT_FILE: cert.cert, TLS_KEY_FILE: cert.key, ...extra });

test('https REST and wss on one port: status, publish to a subscriber, sync between clients, order, large messages', async () => {
  const cert = makeCertificate();
  const server = await startServer(tlsEnv(cert, { WS_MAX_MESSAGE_SIZE: String(2 * 1024 * 1024), WS_MAX_QUEUE_BYTES: String(8 * 1024 * 1024), WS_MESSAGE_RATE: '0' }), { single: true });
  assert.match(server.output(), /https and wss/);
  assert.match(server.http, /^https:/);
  const agent = new https.Agent({ keepAlive: true, ca: cert.pem });
  const status = await request(`${server.http}/api/sync/status`, { agent });
  assert.equal(status.status, 200);
  assert.equal(status.json.status, 'running');
  assert.match(status.protocol, /^TLSv1\.[23]$/);

  const subscriber = await Client.open(`${server.ws}?user_id=alice`, { ca: cert.pem });
  await subscriber.next('connect');
  await subscriber.request({ type: 'subscribe', topic: 'secure.room' });
  const published = await request(`${server.http}/api/sync/publish`, { agent, method: 'POST', body: { topic: 'secure.room', data: { hello: 'tls' } } });
  assert.equal(published.status, 200);
  assert.deepEqual((await subscriber.next('data')).data, { hello: 'tls' });

  // A burst from another client: every message, in order (batches of many frames go
  // out as TLS records of up to 16 KiB), then 1 MiB in one message.
  const publisher = await Client.open(`${server.ws}?user_id=bob`, { ca: cert.pem });
  await publisher.next('connect');
  const count = 3000;
  for (let i = 0; i < count; i++) publisher.send({ type: 'sync', topic: 'secure.room', data: { i } });
  for (let i = 0; i < count; i++) assert.equal((await subscriber.next('data')).data.i, i);
  const large = 'x'.repeat(1024 * 1024);
  publisher.send({ type: 'sync', topic: 'secure.room', data: large });
  assert.equal((await subscriber.next('data')).data.length, large.length);

  await Promise.all([subscriber.close(), publisher.close()]);
  agent.destroy();
  await server.stopClean();
  fs.rmSync(cert.dir, { recursive: true, force: true });
});

test('plain HTTP and garbage on the TLS port get no HTTP answer (at most a TLS alert), and TLS clients go on', async () => {
  const cert = makeCertificate();
  const server = await startServer(tlsEnv(cert), { single: true });
  assert.equal(await rawExchange(server.port, 'GET /api/sync/status HTTP/1.1\r\nHost: x\r\n\r\n'), '');
  const answer = await rawExchange(server.port, Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2, 3]));
  assert.ok(answer === '' || answer.charCodeAt(0) === 0x15, `not a TLS alert: ${JSON.stringify(answer)}`);
  const status = await request(`${server.http}/api/sync/status`, { ca: cert.pem });
  assert.equal(status.status, 200);
  // An untrusted certificate is the client's refusal; the server logs it at debug only.
  await assert.rejects(request(`${server.http}/api/sync/status`, {}), /self-signed|self signed/);
  await server.stopClean();
  fs.rmSync(cert.dir, { recursive: true, force: true });
});

test('clients that vanish mid-handshake, right after it, or while being written to do not hurt the server', async () => {
  const cert = makeCertificate();
  const server = await startServer(tlsEnv(cert, { WS_MESSAGE_RATE: '0' }), { single: true });
  // Gone as soon as the handshake is done: the server's session tickets (TLS 1.3) and
  // its answers meet a closed socket (EPIPE: it must not be a SIGPIPE).
  await Promise.all(Array.from({ length: 100 }, (_, i) => new Promise((resolve) => {
    const socket = tls.connect({ port: server.port, host: '127.0.0.1', ca: cert.pem }, () => {
      if (i % 2) socket.write('GET /api/sync/status HTTP/1.1\r\nHost: x\r\n\r\n');
      socket.destroy();
      resolve();
    });
    socket.on('error', resolve);
  })));
  // Gone in the middle of the handshake.
  for (let i = 0; i < 20; i++) await rawExchange(server.port, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), 50);
  // Gone while a burst is being written to it.
  const victim = await Client.open(`${server.ws}?user_id=victim`, { ca: cert.pem });
  await victim.request({ type: 'subscribe', topic: 'burst' });
  const publisher = await Client.open(`${server.ws}?user_id=pub`, { ca: cert.pem });
  await publisher.next('connect');
  for (let i = 0; i < 2000; i++) publisher.send({ type: 'sync', topic: 'burst', data: 'y'.repeat(500) });
  victim.ws._socket.destroy();
  const status = await request(`${server.http}/api/sync/status`, { ca: cert.pem });
  assert.equal(status.status, 200);
  await waitFor(async () => (await request(`${server.http}/api/sync/status`, { ca: cert.pem })).json.connections === 1);
  await publisher.close();
  await server.stopClean();
  fs.rmSync(cert.dir, { recursive: true, force: true });
});

test('TLS settings are checked at start: one missing, unreadable, not PEM, or a key of another certificate exit 2', () => {
  const a = makeCertificate();
  const b = makeCertificate();
  const garbage = `${a.dir}/garbage.pem`;
  fs.writeFileSync(garbage, 'not a certificate\n');
  const run = (env) => spawnSync(BIN, [], { env: { ...process.env, LISTEN_ADDR: '127.0.0.1:0', ...env }, encoding: 'utf8', timeout: 10000 });
  const cases = [
    [{ TLS_CERT_FILE: a.cert }, /TLS_CERT_FILE and TLS_KEY_FILE go together/],
    [{ TLS_KEY_FILE: a.key }, /TLS_CERT_FILE and TLS_KEY_FILE go together/],
    [{ TLS_CERT_FILE: `${a.dir}/missing.pem`, TLS_KEY_FILE: a.key }, /TLS_CERT_FILE '.*missing\.pem': cannot load/],
    [{ TLS_CERT_FILE: garbage, TLS_KEY_FILE: a.key }, /TLS_CERT_FILE '.*garbage\.pem': cannot load a PEM certificate chain: no start line/],
    [{ TLS_CERT_FILE: a.cert, TLS_KEY_FILE: garbage }, /TLS_KEY_FILE '.*garbage\.pem': cannot load a PEM private key/],
    [{ TLS_CERT_FILE: a.cert, TLS_KEY_FILE: b.key }, /TLS_KEY_FILE .*(does not belong|cannot load)/],
  ];
  for (const [env, message] of cases) {
    const result = run(env);
    assert.equal(result.status, 2, `${JSON.stringify(env)}: ${result.stdout}${result.stderr}`);
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  }
  for (const c of [a, b]) fs.rmSync(c.dir, { recursive: true, force: true });
});

test('SIGHUP reloads the certificate for new connections; open ones stay; a broken file keeps the old one', async () => {
  const first = makeCertificate({ commonName: 'first' });
  const second = makeCertificate({ commonName: 'second', keyType: 'rsa' });
  const cert = `${first.dir}/live-cert.pem`;
  const key = `${first.dir}/live-key.pem`;
  fs.copyFileSync(first.cert, cert);
  fs.copyFileSync(first.key, key);
  const server = await startServer({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key }, { single: true });
  assert.equal(await servedName(server.port, first.pem), 'first');
  const open = await Client.open(`${server.ws}?user_id=carol`, { ca: first.pem });
  await open.next('connect');
  await open.request({ type: 'subscribe', topic: 'renewal' });

  fs.copyFileSync(second.cert, cert);
  fs.copyFileSync(second.key, key);
  server.proc.kill('SIGHUP');
  await waitFor(() => /TLS certificate reloaded/.test(server.output()));
  assert.equal(await servedName(server.port, second.pem), 'second');
  const renewed = await Client.open(`${server.ws}?user_id=dave`, { ca: second.pem });
  await renewed.next('connect');
  renewed.send({ type: 'sync', topic: 'renewal', data: 'across certificates' });
  assert.equal((await open.next('data')).data, 'across certificates');

  fs.writeFileSync(key, 'broken\n');
  server.proc.kill('SIGHUP');
  await waitFor(() => /TLS reload failed, still serving the previous certificate: TLS_KEY_FILE/.test(server.output()));
  assert.equal(await servedName(server.port, second.pem), 'second');

  await Promise.all([open.close(), renewed.close()]);
  await server.stopClean();
  for (const c of [first, second]) fs.rmSync(c.dir, { recursive: true, force: true });
});
