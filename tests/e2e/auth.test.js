// JWT authentication (HS256 through JWT_SECRET, RS256/ES256 through JWT_PUBLIC_KEY_FILE)
// and the REST API key, end to end,
// with tokens made by the npm `jsonwebtoken` package.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jwt = require('jsonwebtoken');
const { startServer, Client, postJson } = require('./harness');

const SECRET = 'e2e-secret-that-is-long-enough-for-hs256';
const API_KEY = 'e2e-api-key';
let server;
before(async () => { server = await startServer({ JWT_SECRET: SECRET, SYNC_API_KEY: API_KEY, AUTH_TIMEOUT: '700ms' }); });
after(async () => { await server.stopClean(); });

const now = () => Math.floor(Date.now() / 1000);
const token = (claims, options = {}) => jwt.sign({ exp: now() + 600, ...claims }, SECRET, { algorithm: 'HS256', ...options });

test('a valid token in ?token= or Authorization: Bearer identifies the user', async () => {
  const viaQuery = await Client.open(`${server.ws}?token=${token({ sub: 'alice' })}`);
  assert.equal((await viaQuery.next('connect')).data.user_id, 'alice');
  const viaHeader = await Client.open(server.ws, { headers: { Authorization: `Bearer ${token({ sub: 'bob' })}` } });
  assert.equal((await viaHeader.next('connect')).data.user_id, 'bob');
  // ?user_id= is ignored once JWT_SECRET is set: identity comes only from tokens.
  const spoof = await Client.open(`${server.ws}?user_id=alice&token=${token({ sub: 'carol' })}`);
  assert.equal((await spoof.next('connect')).data.user_id, 'carol');
  assert.equal((await viaQuery.request({ type: 'subscribe', topic: 'secure.room' })).type, 'subscribe');
  await Promise.all([viaQuery.close(), viaHeader.close(), spoof.close()]);
});

test('bad, expired, not-yet-valid, alg:none and other-algorithm tokens are refused with 401', async () => {
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ sub: 'mallory', exp: now() + 600 })).toString('base64url');
  const refused = {
    'wrong secret': jwt.sign({ sub: 'mallory', exp: now() + 600 }, 'another-secret-entirely-xxxxxxxxxx'),
    expired: token({ sub: 'mallory', exp: now() - 30 }),
    'not yet valid': token({ sub: 'mallory', nbf: now() + 300 }),
    'alg none': `${header}.${payload}.`,
    'alg none with signature': `${header}.${payload}.${'A'.repeat(43)}`,
    HS384: jwt.sign({ sub: 'mallory', exp: now() + 600 }, SECRET, { algorithm: 'HS384' }),
    'no sub': token({ name: 'nobody' }),
    garbage: 'not.a.jwt',
    'tampered payload': (() => { const [h, , s] = token({ sub: 'alice' }).split('.'); return `${h}.${payload}.${s}`; })(),
  };
  for (const [name, bad] of Object.entries(refused)) {
    await assert.rejects(Client.open(`${server.ws}?token=${encodeURIComponent(bad)}`), { status: 401 }, name);
    await assert.rejects(Client.open(server.ws, { headers: { Authorization: `Bearer ${bad}` } }), { status: 401 }, name);
  }
});

test('without a token only auth is allowed; an auth message then identifies the connection', async () => {
  const client = await Client.open(server.ws);
  const hello = await client.next('connect');
  assert.equal(hello.data.user_id, '');
  // Not even a broadcast reaches a connection before it authenticates.
  assert.equal((await postJson(`${server.http}/api/sync/broadcast`, { data: 'early' }, { 'X-API-Key': API_KEY })).status, 200);
  const refused = await client.request({ type: 'subscribe', topic: 'a' });
  assert.equal(refused.code, 'not_authenticated');
  const badAuth = await client.request({ type: 'auth', token: 'nope' });
  assert.equal(badAuth.code, 'auth_failed');
  const ok = await client.request({ type: 'auth', token: token({ sub: 'dave' }) });
  assert.deepEqual(ok, { type: 'auth', data: { user_id: 'dave' }, id: ok.id });
  assert.equal((await client.request({ type: 'subscribe', topic: 'a' })).type, 'subscribe');
  const delivered = await postJson(`${server.http}/api/sync/publish`, { user_id: 'dave', data: 'hi' }, { 'X-API-Key': API_KEY });
  assert.equal(delivered.status, 200);
  assert.equal((await client.next('data')).data, 'hi');
  assert.equal(client.messages.filter((m) => m.data === 'early').length, 0);
  await client.close();
});

test('re-authentication with a fresh token keeps the connection; another user is refused', async () => {
  const client = await Client.open(`${server.ws}?token=${token({ sub: 'erin' })}`);
  await client.next('connect');
  const again = await client.request({ type: 'auth', token: token({ sub: 'erin', exp: now() + 1200 }) });
  assert.equal(again.type, 'auth');
  const other = await client.request({ type: 'auth', token: token({ sub: 'frank' }) });
  assert.equal(other.code, 'auth_failed');
  await client.close();
});

test('a connection that never authenticates is closed with 4001 after AUTH_TIMEOUT', async () => {
  const client = await Client.open(server.ws);
  await client.next('connect');
  const started = Date.now();
  const error = await client.next('error', 3000);
  assert.equal(error.code, 'not_authenticated');
  const { code } = await client.closed;
  assert.equal(code, 4001);
  assert.ok(Date.now() - started < 2500);
});

test('a token that expires while connected gets token_expired and close 4003', async () => {
  const client = await Client.open(`${server.ws}?token=${token({ sub: 'grace', exp: now() + 2 })}`);
  await client.next('connect');
  const error = await client.next('error', 5000);
  assert.equal(error.code, 'token_expired');
  assert.equal((await client.closed).code, 4003);
});

test('refreshing the token before exp keeps the connection open past the first exp', async () => {
  const client = await Client.open(`${server.ws}?token=${token({ sub: 'heidi', exp: now() + 2 })}`);
  await client.next('connect');
  assert.equal((await client.request({ type: 'auth', token: token({ sub: 'heidi', exp: now() + 60 }) })).type, 'auth');
  await new Promise((r) => setTimeout(r, 3200));
  assert.equal(client.ws.readyState, client.ws.OPEN);
  assert.equal(client.messages.filter((m) => m.type === 'error').length, 0);
  await client.close();
});

test('SYNC_API_KEY guards publish and broadcast; status stays readable', async () => {
  const url = `${server.http}/api/sync/publish`;
  const body = { topic: 'x', data: 1 };
  assert.equal((await postJson(url, body)).status, 401);
  assert.equal((await postJson(url, body, { Authorization: 'Bearer wrong' })).status, 403);
  assert.equal((await postJson(url, body, { 'X-API-Key': 'wrong' })).status, 403);
  assert.equal((await postJson(url, body, { Authorization: `Bearer ${API_KEY}` })).status, 200);
  assert.equal((await postJson(url, body, { 'X-API-Key': API_KEY })).status, 200);
  assert.equal((await postJson(`${server.http}/api/sync/broadcast`, { data: 1 })).status, 401);
  assert.equal((await postJson(`${server.http}/api/sync/broadcast`, { data: 1 }, { 'X-API-Key': API_KEY })).status, 200);
  assert.equal((await fetch(`${server.http}/api/sync/status`)).status, 200);
});

test('RS256 and ES256 tokens verify against JWT_PUBLIC_KEY_FILE; aud and iss are checked when configured', async () => {
  const crypto = require('node:crypto');
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsync-keys-'));
  try {
    for (const [alg, keys] of [
      ['RS256', crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })],
      ['ES256', crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ]) {
      const keyFile = path.join(dir, `${alg}.pem`);
      fs.writeFileSync(keyFile, keys.publicKey.export({ type: 'spki', format: 'pem' }));
      const keyed = await startServer({ JWT_PUBLIC_KEY_FILE: keyFile, JWT_AUDIENCE: 'natsync', JWT_ISSUER: 'https://auth.example' });
      const sign = (claims, key = keys.privateKey, algorithm = alg) =>
        jwt.sign({ exp: now() + 600, aud: ['other', 'natsync'], iss: 'https://auth.example', ...claims }, key, { algorithm });
      const client = await Client.open(`${keyed.ws}?token=${sign({ sub: `${alg}-user` })}`);
      assert.equal((await client.next('connect')).data.user_id, `${alg}-user`);
      await client.close();
      const refusedWith = async (tok) => {
        try { (await Client.open(`${keyed.ws}?token=${tok}`)).terminate(); return 200; } catch (err) { return err.status; }
      };
      assert.equal(await refusedWith(sign({ sub: 'x', aud: 'someone-else' })), 401, `${alg}: wrong aud`);
      assert.equal(await refusedWith(sign({ sub: 'x', iss: 'https://evil.example' })), 401, `${alg}: wrong iss`);
      const otherKeys = alg === 'RS256' ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }) : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      assert.equal(await refusedWith(sign({ sub: 'x' }, otherKeys.privateKey)), 401, `${alg}: another key`);
      // Algorithm confusion: HS256 signed with the public key's PEM text as the secret.
      const pem = keys.publicKey.export({ type: 'spki', format: 'pem' });
      const confused = jwt.sign({ sub: 'mallory', exp: now() + 600, aud: 'natsync', iss: 'https://auth.example' }, pem.toString(), { algorithm: 'HS256' });
      assert.equal(await refusedWith(confused), 401, `${alg}: HS256 with the public key as secret`);
      await keyed.stopClean();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a JWT_PUBLIC_KEY_FILE that is missing or not a usable key stops the server with exit status 2 and one line', () => {
  const { spawnSync } = require('node:child_process');
  const bin = process.env.NATSYNC_BIN || require('node:path').resolve(__dirname, '../../build/natsync');
  for (const file of ['/nonexistent/key.pem', __filename]) {
    const run = spawnSync(bin, [], { env: { ...process.env, JWT_PUBLIC_KEY_FILE: file, LISTEN_ADDR: '127.0.0.1:0' }, encoding: 'utf8', timeout: 10000 });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /^natsync: invalid configuration: JWT_PUBLIC_KEY_FILE/);
    assert.equal(run.stderr.trim().split('\n').length, 1);
  }
});
