// What the SDK does when the connection goes: a TCP proxy between it and the real
// natsync cuts, stalls and refuses; the server is restarted; tokens expire.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startServer, client, closeAll, once, publishRest, waitFor, sleep } from './helpers.js';
import { startProxy } from './proxy.js';
import { reconnectDelay } from '../src/index.js';

const require = createRequire(import.meta.url);
const jwt = require('../../../tests/e2e/node_modules/jsonwebtoken');

const ENV = { DURABLE_TOPICS: 'd.>', DOCUMENT_TOPICS: 'b.>', DOCUMENT_STORE: 'memory' };
const running = [];
after(async () => { closeAll(); for (const s of running) { s.proxy?.close(); await s.stop('SIGKILL'); } });

async function serverBehindProxy(env = ENV) {
  const server = await startServer(env, { single: true });
  server.proxy = await startProxy(server.port);
  running.push(server);
  return server;
}

test('durable topic: 150 messages published while the link is down arrive once each, in order, then live ones', async () => {
  const server = await serverBehindProxy();
  const got = [];
  let lost = 0;
  const c = client(`${server.proxy.url}?user_id=u`);
  await c.subscribe('d.feed', { onData: (data) => got.push(data), onStateLost: () => lost++ }).ready;
  for (let i = 1; i <= 10; i++) await publishRest(server, 'd.feed', i);
  await waitFor(() => got.length === 10, 15000).catch(() =>
    assert.fail(`before the cut: got ${JSON.stringify(got)}, state ${c.state}, server said ${server.output().slice(-300)}`));

  server.proxy.refusing = true;
  server.proxy.cut();
  await once(c, 'disconnected');
  for (let i = 11; i <= 160; i++) assert.equal((await publishRest(server, 'd.feed', i)).status, 200);
  server.proxy.refusing = false;
  await once(c, 'connected');
  for (let i = 161; i <= 170; i++) await publishRest(server, 'd.feed', i);
  await waitFor(() => got.length >= 170, 10000);
  await sleep(100);
  assert.deepEqual(got, Array.from({ length: 170 }, (_, i) => i + 1));
  assert.equal(lost, 0);
});

test('a restarted server (memory history, new epoch) calls onStateLost, then delivers live again', async () => {
  const first = await serverBehindProxy();
  const c = client(`${first.proxy.url}?user_id=u`);
  const got = [];
  const lost = [];
  await c.subscribe('d.news', { onData: (d) => got.push(d), onStateLost: (info) => lost.push(info) }).ready;
  await publishRest(first, 'd.news', 'before');
  await waitFor(() => got.length === 1);

  const second = await startServer(ENV, { single: true });
  running.push(second);
  first.proxy.target = second.port;
  const back = once(c, 'connected');
  await first.stop();
  await back;
  await waitFor(() => lost.length === 1);
  assert.equal(lost[0].topic, 'd.news');
  await publishRest(second, 'd.news', 'after');
  await waitFor(() => got.length === 2);
  assert.deepEqual(got, ['before', 'after']);
});

test('publishes and document changes made offline are sent after the reconnect, once each, in order', async () => {
  const server = await serverBehindProxy();
  const reader = client(`${server.ws}?user_id=r`);
  const got = [];
  await reader.subscribe('d.outbox', { onData: (d) => got.push(d) }).ready;
  const c = client(`${server.proxy.url}?user_id=w`, { outboxLimit: 23 });
  const doc = c.document('b.list');
  await doc.ready;
  server.proxy.refusing = true;
  server.proxy.cut();
  await once(c, 'disconnected');

  const publishes = [];
  for (let i = 1; i <= 20; i++) publishes.push(c.publish('d.outbox', i));
  const changes = [doc.patch({ items: [] }), doc.applyOps([{ op: 'add', path: '/items/-', value: 'a' }]),
    doc.applyOps([{ op: 'add', path: '/items/-', value: 'b' }])];
  await assert.rejects(c.publish('d.outbox', 'over'), { code: 'outbox_full' });
  await assert.rejects(doc.patch({ x: 1 }), { code: 'outbox_full' });
  assert.equal(got.length, 0);

  server.proxy.refusing = false;
  const acks = await Promise.all(publishes);
  assert.deepEqual(acks.map((a) => a.duplicate ?? false), Array(20).fill(false));
  assert.deepEqual((await Promise.all(changes)).map((r) => r.revision), [1, 2, 3]);
  await waitFor(() => got.length === 20);
  await sleep(100);
  assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i + 1));
  assert.deepEqual(doc.value, { items: ['a', 'b'] });
});

test('an ack lost with its connection: the publish is sent again with its key and applied once', async () => {
  const server = await serverBehindProxy();
  const reader = client(`${server.ws}?user_id=r`);
  const got = [];
  await reader.subscribe('d.once', { onData: (d) => got.push(d) }).ready;
  const c = client(`${server.proxy.url}?user_id=w`);
  await once(c, 'connected');
  // The proxy passes the sync to the server, then cuts before the ack can come back.
  server.proxy.onClientData = (text) => {
    if (!text.includes('"type":"sync"')) return;
    server.proxy.onClientData = null;
    server.proxy.stalled = true;
    setTimeout(() => { server.proxy.cut(); server.proxy.stalled = false; }, 50);
  };
  const ack = await c.publish('d.once', 'exactly-once');
  assert.equal(ack.duplicate, true, 'the resend was recognised by its idempotency key');
  await sleep(200);
  assert.deepEqual(got, ['exactly-once']);
});

test('a document change whose ack was lost is not applied twice', async () => {
  const server = await serverBehindProxy();
  const c = client(`${server.proxy.url}?user_id=w`);
  const doc = c.document('b.counter');
  await doc.ready;
  server.proxy.onClientData = (text) => {
    if (!text.includes('"type":"patch"')) return;
    server.proxy.onClientData = null;
    server.proxy.stalled = true;
    setTimeout(() => { server.proxy.cut(); server.proxy.stalled = false; }, 50);
  };
  const result = await doc.applyOps([{ op: 'add', path: '', value: { list: ['one'] } }]);
  assert.equal(result.revision, 1);
  await sleep(100);
  const served = await (await fetch(`${server.http}/api/sync/document?topic=b.counter`)).json();
  assert.deepEqual([served.revision, served.data], [1, { list: ['one'] }]);
  assert.deepEqual(doc.value, served.data);
});

test('a stalled (half-open) link is noticed within heartbeatInterval + timeout and replaced', async () => {
  const server = await serverBehindProxy();
  const c = client(`${server.proxy.url}?user_id=h`, { heartbeatInterval: 300, timeout: 300 });
  await once(c, 'connected');
  const got = [];
  await c.subscribe('d.hb', { onData: (d) => got.push(d) }).ready;
  server.proxy.stalled = true;
  const stalledAt = Date.now();
  const gone = await once(c, 'disconnected', 3000);
  const noticed = Date.now() - stalledAt;
  // The bound is heartbeatInterval + timeout; the slack is for a loaded machine's timers.
  assert.ok(noticed <= 300 + 300 + 500, `noticed after ${noticed} ms`);
  assert.match(gone.reason, /no pong/);
  assert.equal(gone.reconnect, true);
  await publishRest(server, 'd.hb', 'while stalled');
  server.proxy.cut();
  server.proxy.stalled = false;
  await once(c, 'connected', 3000);
  await waitFor(() => got.length === 1);
  assert.deepEqual(got, ['while stalled']);
});

test('reconnect attempts during a 10 s outage keep to the backoff formula', async () => {
  const server = await serverBehindProxy();
  const min = 100;
  const max = 1600;
  const c = client(`${server.proxy.url}?user_id=b`, { minReconnectDelay: min, maxReconnectDelay: max });
  await once(c, 'connected');
  server.proxy.refusing = true;
  const attempts = [];
  c.on('state', ({ to }) => { if (to === 'connecting') attempts.push(Date.now()); });
  const lostAt = Date.now();
  server.proxy.cut();
  await sleep(10000);
  server.proxy.refusing = false;
  await once(c, 'connected', 5000);
  const gaps = [attempts[0] - lostAt, ...attempts.slice(1).map((t, i) => t - attempts[i])];
  assert.ok(gaps.length >= 8 && gaps.length <= 60, `${gaps.length} attempts`);
  gaps.forEach((gap, k) => {
    const ceiling = Math.min(max, min * 2 ** (k + 1));
    // Timers may fire late on a loaded machine, never early (but for rounding).
    assert.ok(gap >= min - 5 && gap <= ceiling + 300, `attempt ${k}: waited ${gap} ms, allowed [${min}, ${ceiling}]`);
  });
  for (let k = 0; k < 40; k++) {
    const d = reconnectDelay(k, min, max);
    assert.ok(d >= min && d <= Math.min(max, min * 2 ** (k + 1)));
  }
});

test('getToken refreshes the token in-band before exp: no reconnect, subscriptions kept', async () => {
  const secret = 'sdk-test-secret-0123456789';
  const server = await serverBehindProxy({ ...ENV, JWT_SECRET: secret });
  let issued = 0;
  const getToken = async () => { issued++; return jwt.sign({ sub: 'carol' }, secret, { expiresIn: 3 }); };
  const c = client(server.proxy.url, { getToken });
  const disconnects = [];
  c.on('disconnected', (d) => disconnects.push(d));
  const got = [];
  await c.subscribe('d.tok', { onData: (d) => got.push(d) }).ready;
  assert.equal(c.userId, 'carol');
  await sleep(7000);  // two and more lifetimes of a token
  await publishRest(server, 'd.tok', 'still here');
  await waitFor(() => got.length === 1);
  assert.deepEqual(disconnects, []);
  assert.ok(issued >= 3, `${issued} tokens issued`);
});

test('auth refused and getToken cannot help: the client stops with the error', async () => {
  const secret = 'sdk-test-secret-0123456789';
  const server = await serverBehindProxy({ ...ENV, JWT_SECRET: secret, AUTH_TIMEOUT: '300ms' });
  const c = client(server.proxy.url, { getToken: async () => 'not-a-jwt' });
  const errors = [];
  c.on('error', (e) => errors.push(e));
  await waitFor(() => c.state === 'closed', 10000);
  assert.ok(errors.length >= 1);
});
