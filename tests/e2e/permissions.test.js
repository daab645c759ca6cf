// Topic permissions (docs/security.md): the token's "topics" claim, the configured
// defaults, personal topics, re-authentication, and admin tokens on the REST API.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jwt = require('jsonwebtoken');
const { startServer, Client, postJson } = require('./harness');

const SECRET = 'permissions-secret-0123456789abcdef';
const API_KEY = 'permissions-api-key';
const now = () => Math.floor(Date.now() / 1000);
const token = (claims) => jwt.sign({ exp: now() + 600, ...claims }, SECRET, { algorithm: 'HS256' });
let server;
before(async () => {
  server = await startServer({ JWT_SECRET: SECRET, SYNC_API_KEY: API_KEY, DEFAULT_SUBSCRIBE_TOPICS: 'public.>, private.>', DEFAULT_PUBLISH_TOPICS: 'private.>' });
});
after(async () => { await server.stopClean(); });

const open = async (claims) => {
  const client = await Client.open(`${server.ws}?token=${token(claims)}`);
  await client.next('connect');
  return client;
};
const code = async (client, message) => {
  const reply = await client.request(message);
  return reply.type === 'error' ? reply.code : reply.type;
};

test('the topics claim decides what a connection may subscribe to and sync into', async () => {
  const writer = await open({ sub: 'writer', topics: { subscribe: ['chat.*'], publish: ['chat.room1'] } });
  const reader = await open({ sub: 'reader', topics: { subscribe: ['chat.>'] } });
  assert.equal(await code(writer, { type: 'subscribe', topic: 'chat.room1' }), 'subscribe');
  assert.equal(await code(writer, { type: 'subscribe', topic: 'chat.room1.sub' }), 'permission_denied');
  assert.equal(await code(writer, { type: 'subscribe', topic: 'public.news' }), 'permission_denied', 'the claim replaces the defaults');
  assert.equal(await code(reader, { type: 'subscribe', topic: 'chat.room1' }), 'subscribe');
  assert.equal(await code(writer, { type: 'sync', topic: 'chat.room1', data: { hi: 1 } }), 'sync');
  assert.deepEqual((await reader.next('data')).data, { hi: 1 });
  assert.equal(await code(writer, { type: 'sync', topic: 'chat.room2', data: 1 }), 'permission_denied');
  assert.equal(await code(reader, { type: 'sync', topic: 'chat.room1', data: 1 }), 'permission_denied', 'no publish list: nothing');
  await Promise.all([writer.close(), reader.close()]);
});

test('without the claim the configured defaults apply', async () => {
  const plain = await open({ sub: 'plain' });
  assert.equal(await code(plain, { type: 'subscribe', topic: 'public.news' }), 'subscribe');
  assert.equal(await code(plain, { type: 'subscribe', topic: 'chat.room1' }), 'permission_denied');
  assert.equal(await code(plain, { type: 'sync', topic: 'public.news', data: 1 }), 'permission_denied');
  await plain.close();
});

test('personal topics are reachable by their user only, whatever the patterns say', async () => {
  const alice = await open({ sub: 'alice' });
  const bob = await open({ sub: 'bob' });
  assert.equal(await code(alice, { type: 'subscribe', topic: 'private.alice.inbox' }), 'subscribe');
  assert.equal(await code(bob, { type: 'subscribe', topic: 'private.alice.inbox' }), 'permission_denied');
  assert.equal(await code(bob, { type: 'sync', topic: 'private.alice.inbox', data: 'x' }), 'permission_denied');
  assert.equal(await code(alice, { type: 'sync', topic: 'private.alice.inbox', data: 'note to self' }), 'sync');
  await Promise.all([alice.close(), bob.close()]);
});

test('a refreshed token with fewer permissions ends the subscriptions it no longer allows', async () => {
  const carol = await open({ sub: 'carol', topics: { subscribe: ['a.*', 'b.*'] } });
  assert.equal(await code(carol, { type: 'subscribe', topic: 'a.x' }), 'subscribe');
  assert.equal(await code(carol, { type: 'subscribe', topic: 'b.x' }), 'subscribe');
  assert.equal(await code(carol, { type: 'auth', token: token({ sub: 'carol', topics: { subscribe: ['a.*'] } }) }), 'auth');
  const dropped = await carol.next('unsubscribe');
  assert.equal(dropped.topic, 'b.x');
  const published = await postJson(`${server.http}/api/sync/publish`, { topic: 'b.x', data: 'late' }, { 'X-API-Key': API_KEY });
  assert.equal(published.status, 200);
  await postJson(`${server.http}/api/sync/publish`, { topic: 'a.x', data: 'still' }, { 'X-API-Key': API_KEY });
  assert.equal((await carol.next('data')).data, 'still');
  assert.equal(carol.messages.filter((m) => m.type === 'data').length, 0);
  await carol.close();
});

test('a malformed topics claim is refused like a bad token', async () => {
  for (const topics of [['chat.*'], { subscribe: 'chat.*' }, { subscribe: ['chat..x'] }, { publish: [7] }, { subscribe: ['a.>.b'] }]) {
    await assert.rejects(Client.open(`${server.ws}?token=${token({ sub: 'x', topics })}`), (err) => err.status === 401, JSON.stringify(topics));
  }
});

test('REST: the API key or a token with the admin role; any other token is refused', async () => {
  const body = { topic: 'public.news', data: 1 };
  const url = `${server.http}/api/sync/publish`;
  assert.equal((await postJson(url, body, { Authorization: `Bearer ${token({ sub: 'ops', role: 'admin' })}` })).status, 200);
  assert.equal((await postJson(url, body, { Authorization: `Bearer ${token({ sub: 'ops', roles: ['reader', 'admin'] })}` })).status, 200);
  assert.equal((await postJson(url, body, { Authorization: `Bearer ${token({ sub: 'user' })}` })).status, 403);
  assert.equal((await postJson(url, body, { Authorization: `Bearer ${token({ sub: 'ops', role: 'admin', exp: now() - 10 })}` })).status, 403);
  assert.equal((await postJson(url, body)).status, 401);
});
