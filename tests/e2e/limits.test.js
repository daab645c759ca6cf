// Abuse limits (docs/security.md): each refuses with a defined status or error code,
// and lets the client back in once it is within the limit again.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const jwt = require('jsonwebtoken');
const { startServer, Client, postJson, rawExchange, waitFor, sleep } = require('./harness');

// Per-node figures: always one node, even in the suite's cluster pass.
const start = (env) => startServer(env, { single: true });

async function refusal(url, options) {
  try {
    const client = await Client.open(url, options);
    client.terminate();
    return null;
  } catch (err) {
    return err.status;
  }
}

// The HTTP response to a refused upgrade, raw: status line, headers and body.
const upgradeResponse = (server, query) => rawExchange(server.port, `GET /ws/sync${query} HTTP/1.1\r\nHost: x\r\n` +
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');

test('MAX_CONNECTIONS: the node refuses with 503 server_full and Retry-After, then admits after a close', async () => {
  const server = await start({ MAX_CONNECTIONS: '3' });
  const clients = await Promise.all([1, 2, 3].map((i) => Client.open(`${server.ws}?user_id=n${i}`)));
  const response = await upgradeResponse(server, '?user_id=n4');
  assert.match(response, /^HTTP\/1\.1 503 /);
  assert.match(response, /\r\nRetry-After: 1\r\n/i);
  assert.match(response, /server_full/);
  await clients[0].close();
  await waitFor(async () => (await refusal(`${server.ws}?user_id=n5`)) === null, 5000);
  await Promise.all(clients.slice(1).map((c) => c.close()));
  await server.stopClean();
});

test('MAX_CONNECTIONS_PER_IP: 429 from the same address; another address is fine', async () => {
  const server = await start({ MAX_CONNECTIONS_PER_IP: '2' });
  const clients = await Promise.all([1, 2].map((i) => Client.open(`${server.ws}?user_id=ip${i}`)));
  assert.equal(await refusal(`${server.ws}?user_id=ip3`), 429);
  const other = await Client.open(`${server.ws}?user_id=ip4`, { localAddress: '127.0.0.2' });
  await other.close();
  await clients[0].close();
  await waitFor(async () => (await refusal(`${server.ws}?user_id=ip5`)) === null, 5000);
  await clients[1].close();
  await server.stopClean();
});

test('MAX_CONNECTIONS_PER_USER: 429 on upgrade, and too_many_connections + 4030 when the user is known only at auth', async () => {
  const secret = 'limits-test-secret-0123456789abcdef';
  const token = (sub) => jwt.sign({ sub, exp: Math.floor(Date.now() / 1000) + 600 }, secret);
  const server = await start({ MAX_CONNECTIONS_PER_USER: '2', JWT_SECRET: secret });
  const first = await Client.open(`${server.ws}?token=${token('erin')}`);
  const second = await Client.open(`${server.ws}?token=${token('erin')}`);
  assert.equal(await refusal(`${server.ws}?token=${token('erin')}`), 429);
  const frank = await Client.open(`${server.ws}?token=${token('frank')}`);
  // No token on the upgrade: admitted, then refused when it authenticates as erin.
  const late = await Client.open(server.ws);
  const reply = await late.request({ type: 'auth', token: token('erin') });
  assert.equal(reply.type, 'error');
  assert.equal(reply.code, 'too_many_connections');
  assert.equal((await late.closed).code, 4030);
  await Promise.all([first.close(), second.close(), frank.close()]);
  await server.stopClean();
});

test('CONNECTION_RATE_PER_IP: a burst over the rate gets 429 with Retry-After', async () => {
  const server = await start({ CONNECTION_RATE_PER_IP: '5' });
  const clients = [];
  for (let i = 0; i < 5; i++) clients.push(await Client.open(`${server.ws}?user_id=r${i}`));
  const response = await upgradeResponse(server, '?user_id=r6');
  assert.match(response, /^HTTP\/1\.1 429 /);
  assert.match(response, /connection_rate_exceeded/);
  assert.match(response, /\r\nRetry-After: \d+\r\n/i);
  await sleep(1100);
  const later = await Client.open(`${server.ws}?user_id=r7`);
  await Promise.all([...clients, later].map((c) => c.close()));
  await server.stopClean();
});

test('MAX_SUBSCRIPTIONS_PER_CONNECTION: too_many_subscriptions, resubscribing is fine, unsubscribing frees a place', async () => {
  const server = await start({ MAX_SUBSCRIPTIONS_PER_CONNECTION: '3' });
  const client = await Client.open(`${server.ws}?user_id=subs`);
  for (const topic of ['a', 'b', 'c']) assert.equal((await client.request({ type: 'subscribe', topic })).type, 'subscribe');
  const over = await client.request({ type: 'subscribe', topic: 'd' });
  assert.equal(over.code, 'too_many_subscriptions');
  assert.equal((await client.request({ type: 'subscribe', topic: 'b' })).type, 'subscribe');
  await client.request({ type: 'unsubscribe', topic: 'a' });
  assert.equal((await client.request({ type: 'subscribe', topic: 'd' })).type, 'subscribe');
  await client.close();
  await server.stopClean();
});

test('MAX_TOPIC_LENGTH: longer topics are invalid_topic over WebSocket and REST', async () => {
  const server = await start({ MAX_TOPIC_LENGTH: '10' });
  const client = await Client.open(`${server.ws}?user_id=topics`);
  assert.equal((await client.request({ type: 'subscribe', topic: 'x'.repeat(10) })).type, 'subscribe');
  const long = await client.request({ type: 'subscribe', topic: 'x'.repeat(11) });
  assert.equal(long.code, 'invalid_topic');
  const rest = await postJson(`${server.http}/api/sync/publish`, { topic: 'x'.repeat(11), data: 1 });
  assert.equal(rest.status, 400);
  assert.equal(rest.json.code, 'invalid_topic');
  await client.close();
  await server.stopClean();
});

test('WS_MESSAGE_RATE: messages over the rate are refused with rate_limited (with their id); a sustained flood is closed with 4029', async () => {
  const server = await start({ WS_MESSAGE_RATE: '20', WS_MESSAGE_BURST: '5' });
  const client = await Client.open(`${server.ws}?user_id=flood`);
  await client.next('connect');
  for (let i = 0; i < 5; i++) client.send({ type: 'subscribe', topic: `t${i}`, id: i });
  client.send({ type: 'subscribe', topic: 't5', id: 5 });
  for (let i = 0; i < 5; i++) assert.equal((await client.next((m) => m.id === i)).type, 'subscribe');
  const refused = await client.next((m) => m.id === 5);
  assert.equal(refused.type, 'error');
  assert.equal(refused.code, 'rate_limited');
  // Within the rate again after a pause.
  await sleep(300);
  assert.equal((await client.request({ type: 'subscribe', topic: 'later', id: 'ok' })).type, 'subscribe');
  // A flood: WS_MESSAGE_BURST refused in a row closes the connection.
  for (let i = 0; i < 50; i++) client.send({ type: 'sync', topic: 'later', data: i });
  assert.equal((await client.closed).code, 4029);
  assert.match(server.output(), /over WS_MESSAGE_RATE in a row; closing/);
  await server.stopClean();
});
