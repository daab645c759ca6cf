// History and recovery of durable topics (DURABLE_TOPICS), standalone: offsets and
// epochs on every message, "since" resubscription with nothing lost and nothing twice
// at the seam, recovered:false when the gap cannot be filled, GET /api/sync/history,
// and hostile input. Real clients: npm ws and Node's fetch.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { BIN, startServer, Client, postJson, getStatus, waitFor } = require('./harness');

const publish = (server, topic, data) => postJson(`${server.http}/api/sync/publish`, { topic, data });
const getHistory = async (server, query) => {
  const response = await fetch(`${server.http}/api/sync/history?${query}`);
  return { status: response.status, json: await response.json() };
};
const durable = (extra = {}) => ({ DURABLE_TOPICS: 'orders.>,chat.*', WS_MESSAGE_RATE: '0', ...extra });

test('messages on durable topics carry offset and epoch; the subscribe ack says where the stream stands', async () => {
  const server = await startServer(durable(), { single: true });
  const client = await Client.open(`${server.ws}?user_id=alice`);
  const ack = await client.request({ type: 'subscribe', topic: 'orders.eu' });
  assert.equal(ack.offset, 0);
  assert.equal(ack.epoch, '');
  const first = await publish(server, 'orders.eu', { n: 1 });
  assert.equal(first.status, 200);
  assert.equal(first.json.offset, 1);
  assert.match(first.json.epoch, /^[0-9a-f]{12}$/);
  const message = await client.next('data');
  assert.deepEqual(message, { type: 'data', topic: 'orders.eu', offset: 1, epoch: first.json.epoch, data: { n: 1 } });
  // A sync from a client is numbered too; a topic outside DURABLE_TOPICS is not.
  const peer = await Client.open(`${server.ws}?user_id=bob`);
  await peer.next('connect');
  peer.send({ type: 'sync', topic: 'orders.eu', data: 'from bob' });
  assert.equal((await client.next('data')).offset, 2);
  await client.request({ type: 'subscribe', topic: 'news' });
  const plain = await publish(server, 'news', 'x');
  assert.equal(plain.json.offset, undefined);
  assert.equal((await client.next('data')).offset, undefined);
  const again = await client.request({ type: 'subscribe', topic: 'orders.eu' });
  assert.deepEqual([again.offset, again.epoch], [2, first.json.epoch]);
  await Promise.all([client.close(), peer.close()]);
  await server.stopClean();
});

// (The allowance shrinks as the queue drains: a client that stops reading is still cut,
// slow_consumer.test.js.)
test('a replay larger than WS_MAX_QUEUE_BYTES is delivered whole, not cut as a slow consumer, and at once', async () => {
  // 3 topics x 400 messages of ~200 bytes missed: ~240 KB of replay against a 64 KiB queue.
  const server = await startServer(durable({ WS_MAX_QUEUE_BYTES: '65536', HISTORY_SIZE: '1000' }), { single: true });
  const topics = ['orders.a', 'orders.b', 'orders.c'];
  const first = await Client.open(`${server.ws}?user_id=away`);
  const acks = await Promise.all(topics.map((topic) => first.request({ type: 'subscribe', topic })));
  await first.close();
  const pad = 'x'.repeat(160);
  for (let n = 1; n <= 400; n++) {
    await Promise.all(topics.map((topic) => publish(server, topic, { n, pad })));
  }
  const back = await Client.open(`${server.ws}?user_id=away`);
  const resumed = await Promise.all(topics.map((topic, i) =>
    back.request({ type: 'subscribe', topic, since: { offset: acks[i].offset, epoch: acks[i].epoch } }, 10000)));
  for (const ack of resumed) assert.equal(ack.recovered, true);
  // Without waiting: not 256 frames per worker wake-up (the sweep, once a second), which
  // took 4 s for these 1,200 before.
  await waitFor(() => back.seen.filter((m) => m.type === 'data').length === 1200, 2500);
  for (const topic of topics) {
    assert.deepEqual(back.seen.filter((m) => m.topic === topic && m.type === 'data').map((m) => m.data.n),
      Array.from({ length: 400 }, (_, i) => i + 1));
  }
  assert.equal(back.seen.some((m) => m.code === 'slow_consumer'), false);
  await back.close();
  await server.stopClean();
});

test('away while 100 messages were published: a since-resubscription gets exactly those, then live ones, none twice', async () => {
  const server = await startServer(durable(), { single: true });
  let client = await Client.open(`${server.ws}?user_id=mobile`);
  await client.request({ type: 'subscribe', topic: 'chat.room1' });
  for (let i = 1; i <= 5; i++) await publish(server, 'chat.room1', { i });
  let last;
  for (let i = 1; i <= 5; i++) last = await client.next('data');
  assert.equal(last.offset, 5);
  client.terminate();  // the network drops
  for (let i = 6; i <= 105; i++) await publish(server, 'chat.room1', { i });

  client = await Client.open(`${server.ws}?user_id=mobile`);
  const ack = await client.request({ type: 'subscribe', topic: 'chat.room1', since: { offset: last.offset, epoch: last.epoch } });
  assert.equal(ack.recovered, true);
  assert.equal(ack.offset, 105);
  for (let i = 6; i <= 105; i++) {
    const m = await client.next('data');
    assert.deepEqual([m.offset, m.data.i], [i, i]);
  }
  await publish(server, 'chat.room1', { i: 106 });
  assert.equal((await client.next('data')).offset, 106);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(client.messages.filter((m) => m.type === 'data').length, 0, 'nothing twice');
  await client.close();
  await server.stopClean();
});

test('no gap and no duplicate at the seam while messages keep coming during the resubscription', async () => {
  const server = await startServer(durable({ WORKER_THREADS: '2', HISTORY_SIZE: '100000' }), { single: true });
  const publisher = await Client.open(`${server.ws}?user_id=pub`);
  await publisher.next('connect');
  let running = true;
  let sent = 0;
  // About 5,000 messages a second, from another connection (often on the other worker).
  const pump = (async () => {
    while (running) {
      for (let k = 0; k < 20; k++) publisher.send({ type: 'sync', topic: 'orders.live', data: ++sent });
      await new Promise((r) => setTimeout(r, 4));
    }
  })();
  await new Promise((r) => setTimeout(r, 50));
  const seen = [];
  let start = 0;
  for (let round = 0; round < 20; round++) {
    const client = await Client.open(`${server.ws}?user_id=u${round}`);
    const lastSeen = seen[seen.length - 1];
    const since = round === 0 ? undefined : lastSeen ? { offset: lastSeen.offset, epoch: lastSeen.epoch } : { offset: start };
    const ack = await client.request({ type: 'subscribe', topic: 'orders.live', ...(since ? { since } : {}) });
    if (round === 0) start = ack.offset;
    else assert.equal(ack.recovered, true, JSON.stringify(ack));
    await new Promise((r) => setTimeout(r, 20));
    for (const m of client.messages.filter((x) => x.type === 'data')) seen.push(m);
    client.terminate();
  }
  running = false;
  await pump;
  assert.ok(start > 0, 'messages were flowing before the first subscription');
  for (let i = 0; i < seen.length; i++) {
    assert.equal(seen[i].offset, start + i + 1, `message ${i}: offset ${seen[i].offset}`);
    assert.equal(seen[i].data, seen[i].offset, 'sync data numbered as sent');
  }
  assert.ok(seen.length > 100, `${seen.length} messages seen over 20 reconnections`);
  await publisher.close();
  await server.stopClean();
});

test('recovered:false with nothing replayed when the history was trimmed, the epoch differs, or the topic keeps none', async () => {
  const server = await startServer(durable({ HISTORY_SIZE: '10' }), { single: true });
  let position;
  for (let i = 1; i <= 30; i++) position = (await publish(server, 'orders.trim', { i })).json;
  const client = await Client.open(`${server.ws}?user_id=late`);
  const trimmed = await client.request({ type: 'subscribe', topic: 'orders.trim', since: { offset: 5, epoch: position.epoch } });
  assert.deepEqual([trimmed.recovered, trimmed.offset, trimmed.epoch], [false, 30, position.epoch]);
  const recent = await client.request({ type: 'subscribe', topic: 'orders.trim', since: { offset: 20, epoch: position.epoch } });
  assert.equal(recent.recovered, true);
  const other = await client.request({ type: 'subscribe', topic: 'orders.trim', since: { offset: 29, epoch: 'elsewhere' } });
  assert.equal(other.recovered, false);
  const plain = await client.request({ type: 'subscribe', topic: 'news', since: { offset: 3, epoch: 'x' } });
  assert.equal(plain.recovered, false);
  assert.equal(plain.offset, undefined);
  await new Promise((r) => setTimeout(r, 200));
  // Only the recoverable resubscription (after 20) replayed anything: 21..30.
  const data = client.messages.filter((m) => m.type === 'data');
  assert.deepEqual(data.map((m) => m.offset), [21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
  await client.close();
  await server.stopClean();

  // A restart loses the in-memory history: the epoch changes.
  const restarted = await startServer(durable(), { single: true });
  await publish(restarted, 'orders.trim', 'after restart');
  const back = await Client.open(`${restarted.ws}?user_id=late`);
  const ack = await back.request({ type: 'subscribe', topic: 'orders.trim', since: { offset: 30, epoch: position.epoch } });
  assert.deepEqual([ack.recovered, ack.offset], [false, 1]);
  assert.notEqual(ack.epoch, position.epoch);
  await back.close();
  await restarted.stopClean();
});

test('GET /api/sync/history pages stored messages with offsets; errors are clear; the API key applies', async () => {
  const server = await startServer(durable({ SYNC_API_KEY: 'k' }), { single: true });
  const auth = { Authorization: 'Bearer k' };
  for (let i = 1; i <= 7; i++) await postJson(`${server.http}/api/sync/publish`, { topic: 'orders.h', data: { i } }, auth);
  const get = async (query, headers = auth) => {
    const response = await fetch(`${server.http}/api/sync/history?${query}`, { headers });
    return { status: response.status, json: await response.json() };
  };
  const all = await get('topic=orders.h');
  assert.equal(all.status, 200);
  assert.equal(all.json.offset, 7);
  assert.deepEqual(all.json.messages.map((m) => [m.offset, m.data.i]), [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7]]);
  assert.equal(all.json.messages[0].epoch, all.json.epoch);
  const page = await get('topic=orders.h&since=3&limit=2');
  assert.deepEqual(page.json.messages.map((m) => m.offset), [4, 5]);
  assert.equal((await get('topic=orders.h', {})).status, 401);
  assert.equal((await get('topic=news')).status, 404);
  assert.equal((await get('topic=news')).json.code, 'not_durable');
  for (const query of ['', 'topic=', 'topic=a..b', 'topic=orders.h&limit=0', 'topic=orders.h&limit=100000',
    'topic=orders.h&since=-1', 'topic=orders.h&since=1e3', 'topic=orders.h&limit=x', `topic=${'a'.repeat(300)}`]) {
    const bad = await get(query);
    assert.equal(bad.status, 400, query);
    assert.equal(bad.json.code, 'invalid_message', query);
  }
  assert.equal((await get('topic=orders.none')).json.messages.length, 0);
  await server.stopClean();
});

test('a REST publish with an idempotency_key is applied once while its message is in the history', async () => {
  const server = await startServer(durable({ HISTORY_SIZE: '5' }), { single: true });
  const client = await Client.open(`${server.ws}?user_id=once`);
  await client.request({ type: 'subscribe', topic: 'orders.pay' });
  const body = { topic: 'orders.pay', data: { amount: 10 }, idempotency_key: 'payment-4711' };
  const first = await postJson(`${server.http}/api/sync/publish`, body);
  const retry = await postJson(`${server.http}/api/sync/publish`, body);  // the client's retry after a timeout
  assert.equal(first.json.duplicate, undefined);
  assert.deepEqual([retry.status, retry.json.duplicate, retry.json.offset, retry.json.epoch],
    [200, true, first.json.offset, first.json.epoch]);
  await publish(server, 'orders.pay', 'next');
  const data = [await client.next('data'), await client.next('data')];
  assert.deepEqual(data.map((m) => m.data), [{ amount: 10 }, 'next'], 'delivered once');
  for (const [bad, why] of [[{ ...body, idempotency_key: '' }, '1-128'], [{ ...body, idempotency_key: 'k'.repeat(129) }, '1-128'],
    [{ ...body, idempotency_key: 5 }, 'string'], [{ ...body, topic: 'news' }, 'durable topic'],
    [{ user_id: 'u', data: 1, idempotency_key: 'k' }, 'durable topic']]) {
    const response = await postJson(`${server.http}/api/sync/publish`, bad);
    assert.equal(response.status, 400, JSON.stringify(bad));
    assert.match(response.json.error, new RegExp(why));
  }
  await client.close();
  await server.stopClean();
});

test('hostile "since" values get invalid_message; the connection goes on', async () => {
  const server = await startServer(durable(), { single: true });
  const client = await Client.open(`${server.ws}?user_id=h`);
  for (const since of [5, 'x', null, [], {}, { offset: -1 }, { offset: 1.5 }, { offset: '3' }, { offset: 1e30 },
    { offset: 1, epoch: 7 }, { offset: 1, epoch: 'e'.repeat(65) }]) {
    const reply = await client.request({ type: 'subscribe', topic: 'orders.x', since });
    assert.equal(reply.type, 'error', JSON.stringify(since));
    assert.equal(reply.code, 'invalid_message', JSON.stringify(since));
  }
  // An integer beyond 64 bits fails the whole JSON parse: an invalid_json without the id.
  client.send('{"type":"subscribe","topic":"orders.x","id":"big","since":{"offset":36893488147419103232}}');
  assert.equal((await client.next('error')).code, 'invalid_json');
  assert.equal((await client.request({ type: 'subscribe', topic: 'orders.x', since: { offset: 0 } })).recovered, true);
  await client.close();
  await server.stopClean();
});

test('history stays within HISTORY_SIZE under a flood, and expires after HISTORY_TTL', async () => {
  const server = await startServer(durable({ HISTORY_SIZE: '50', HISTORY_TTL: '2s' }), { single: true });
  const publisher = await Client.open(`${server.ws}?user_id=flood`);
  await publisher.next('connect');
  for (let i = 0; i < 20000; i++) publisher.send({ type: 'sync', topic: `orders.t${i % 20}`, data: i });
  await waitFor(async () => (await getStatus(server)).history.messages === 1000, 10000);
  await waitFor(async () => (await getStatus(server)).history.messages === 0, 6000);
  await publisher.close();
  await server.stopClean();
});

test('DURABLE_TOPICS and HISTORY_* are checked at start: a bad value exits 2', () => {
  const run = (env) => spawnSync(BIN, [], { env: { ...process.env, LISTEN_ADDR: '127.0.0.1:0', ...env }, encoding: 'utf8', timeout: 10000 });
  const bad = run({ DURABLE_TOPICS: 'orders.>.x' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /DURABLE_TOPICS/);
  for (const [name, value] of [['HISTORY_SIZE', '0'], ['HISTORY_TTL', '0s'], ['HISTORY_TTL', 'soon'],
    ['HISTORY_REPLICAS', '0'], ['HISTORY_REPLICAS', '6']]) {
    const result = run({ DURABLE_TOPICS: 'orders.>', [name]: value });
    assert.equal(result.status, 2, `${name}=${value}`);
  }
});
