// History and recovery across a cluster: natsync nodes on a real nats-server with
// JetStream (DURABLE_TOPICS with NATS_URL). A client that reconnects to another node
// with its last offset gets exactly what it missed, then the live stream; a gap that
// cannot be filled says recovered:false. Real clients: npm ws and Node's fetch.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startServer, Client, postJson, getStatus, waitFor } = require('./harness');
const { startNats } = require('./nats');

let nats;
let nodes = [];
let prefixCounter = 0;

let lastPrefix = '';
async function startNodes(count, extraEnv = {}) {
  const prefix = lastPrefix = `hist${process.pid}x${prefixCounter++}`;
  const started = await Promise.all(Array.from({ length: count }, (_, i) => startServer({
    NATS_URL: nats.url, NATS_SUBJECT_PREFIX: prefix, NODE_ID: `node-${i}`, DURABLE_TOPICS: 'orders.>',
    WS_MESSAGE_RATE: '0', ...extraEnv,
  }, { single: true })));
  nodes.push(...started);
  // The history is ready once the node set up its stream and consumer.
  await Promise.all(started.map((node) => waitFor(() => /history in JetStream stream/.test(node.output()), 10000)));
  return started;
}

async function stopNodes() {
  for (const node of nodes) await node.stopClean();
  nodes = [];
}

const publish = (node, topic, data, extra = {}) => postJson(`${node.http}/api/sync/publish`, { topic, data, ...extra });

before(async () => { nats = await startNats({ jetstream: true }); });
after(async () => {
  await stopNodes();
  await nats.remove();
});

test('away while 100 messages were published: reconnecting to another node with the last offset gets exactly those, then live ones', async () => {
  const [a, b] = await startNodes(2);
  const client = await Client.open(`${a.ws}?user_id=alice`);
  const ack = await client.request({ type: 'subscribe', topic: 'orders.eu' });
  assert.match(ack.epoch, /^[0-9a-f]{16}$/);
  const first = await publish(b, 'orders.eu', { n: 0 });
  assert.equal(first.status, 200);
  assert.equal(first.json.epoch, ack.epoch);
  const seen = await client.next('data');
  assert.deepEqual(seen, { type: 'data', topic: 'orders.eu', offset: first.json.offset, epoch: ack.epoch, data: { n: 0 } });
  await client.close();

  // 100 messages from both nodes while the client is away.
  const offsets = [];
  for (let n = 1; n <= 100; n++) {
    const reply = await publish(n % 2 ? a : b, 'orders.eu', { n });
    assert.equal(reply.status, 200);
    offsets.push(reply.json.offset);
  }
  assert.ok(offsets.every((offset, i) => i === 0 || offset > offsets[i - 1]), 'offsets increase');

  const back = await Client.open(`${b.ws}?user_id=alice`);
  const asked = process.hrtime.bigint();
  const resumed = await back.request({ type: 'subscribe', topic: 'orders.eu', since: { offset: seen.offset, epoch: seen.epoch } });
  assert.equal(resumed.recovered, true);
  for (let n = 1; n <= 100; n++) {
    const message = await back.next('data');
    assert.deepEqual([message.data.n, message.offset], [n, offsets[n - 1]]);
  }
  console.log(`recovery of 100 messages from JetStream: ${(Number(process.hrtime.bigint() - asked) / 1e6).toFixed(1)} ms from subscribe to the last replayed message`);
  const live = await publish(a, 'orders.eu', { n: 101 });
  assert.equal((await back.next('data')).data.n, 101);
  assert.equal(live.json.offset > offsets[99], true);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(back.messages.filter((m) => m.type === 'data').length, 0, 'nothing twice');

  // A client "sync" is stored and delivered to the others, not to its sender.
  const peer = await Client.open(`${a.ws}?user_id=bob`);
  await peer.request({ type: 'subscribe', topic: 'orders.eu' });
  const synced = await peer.request({ type: 'sync', topic: 'orders.eu', data: 'from bob', id: 's1' });
  assert.equal(synced.type, 'sync');
  assert.equal((await back.next('data')).data, 'from bob');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(peer.messages.filter((m) => m.type === 'data').length, 0, 'the sender does not get its sync');

  // The history endpoint reads the stream from any node.
  const page = await (await fetch(`${a.http}/api/sync/history?topic=orders.eu&since=${offsets[98]}`)).json();
  assert.deepEqual(page.messages.map((m) => m.data), [{ n: 100 }, { n: 101 }, 'from bob']);
  assert.equal((await getStatus(a)).history.messages >= 0, true);
  await back.close();
  await peer.close();
  await stopNodes();
});

test('recovered:false when the history was trimmed past the offset or the epoch differs; idempotent publish', async () => {
  const [a, b] = await startNodes(2, { HISTORY_SIZE: '10' });
  const client = await Client.open(`${a.ws}?user_id=carol`);
  await client.request({ type: 'subscribe', topic: 'orders.small' });
  const first = await publish(a, 'orders.small', 0);
  const seen = await client.next('data');
  await client.close();
  for (let n = 1; n <= 10; n++) assert.equal((await publish(b, 'orders.small', n)).status, 200);
  // 10 missed: still all there.
  const ok = await Client.open(`${b.ws}?user_id=carol`);
  assert.equal((await ok.request({ type: 'subscribe', topic: 'orders.small', since: { offset: seen.offset, epoch: seen.epoch } })).recovered, true);
  for (let n = 1; n <= 10; n++) assert.equal((await ok.next('data')).data, n);
  await ok.close();
  // 11 missed: the first of them is gone.
  assert.equal((await publish(b, 'orders.small', 11)).status, 200);
  const trimmed = await Client.open(`${b.ws}?user_id=carol`);
  const reply = await trimmed.request({ type: 'subscribe', topic: 'orders.small', since: { offset: seen.offset, epoch: seen.epoch } });
  assert.equal(reply.recovered, false);
  const other = await trimmed.request({ type: 'subscribe', topic: 'orders.other', since: { offset: 1, epoch: 'not-this-one' } });
  assert.equal(other.recovered, false);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(trimmed.messages.filter((m) => m.type === 'data').length, 0, 'nothing partial');
  await trimmed.close();

  // The same idempotency key on two nodes: stored once.
  const once = await publish(a, 'orders.small', 'pay', { idempotency_key: 'k-1' });
  const twice = await publish(b, 'orders.small', 'pay', { idempotency_key: 'k-1' });
  assert.equal(once.status, 200);
  assert.equal(twice.json.duplicate, true);
  assert.equal(twice.json.offset, once.json.offset);
  assert.equal(first.json.offset < once.json.offset, true);
  await stopNodes();
});

// Publishes raw bytes on a NATS subject with the plain NATS protocol, as any NATS client may.
function natsPublish(url, subject, body) {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.on('error', reject);
    socket.once('data', () => {
      const payload = Buffer.from(body);
      socket.write(`CONNECT {"verbose":false}\r\nPUB ${subject} ${payload.length}\r\n`);
      socket.write(Buffer.concat([payload, Buffer.from('\r\nPING\r\n')]));
      socket.on('data', (chunk) => { if (chunk.toString().includes('PONG')) { socket.end(); resolve(); } });
    });
  });
}

test('what other NATS clients publish into the stream: JSON is delivered with its offset, anything else never reaches a client', async () => {
  const [a, b] = await startNodes(2);
  const client = await Client.open(`${b.ws}?user_id=dave`);
  const ack = await client.request({ type: 'subscribe', topic: 'orders.raw' });
  const subject = `${lastPrefix}.d.orders.raw`;
  await natsPublish(nats.url, subject, 'not json {');
  await natsPublish(nats.url, subject, '{"from":"nats"}');
  const message = await client.next('data');
  assert.deepEqual(message.data, { from: 'nats' });
  assert.equal(message.offset > ack.offset, true);
  await waitFor(() => /dropped message \d+ on .*orders\.raw/.test(b.output()), 5000);
  // A replay skips it too.
  const again = await Client.open(`${a.ws}?user_id=dave`);
  const resumed = await again.request({ type: 'subscribe', topic: 'orders.raw', since: { offset: ack.offset, epoch: ack.epoch } });
  assert.equal(resumed.recovered, true);
  assert.deepEqual((await again.next('data')).data, { from: 'nats' });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(again.messages.filter((m) => m.type === 'data').length, 0);
  assert.equal(client.messages.filter((m) => m.type === 'data').length, 0);
  await client.close();
  await again.close();
  await stopNodes();
});

// 30 s of waiting: in the Release and ASan passes, not again under ThreadSanitizer.
test('a node whose JetStream never answers refuses subscribes to durable topics after 30 s (broker_unavailable), never acks a position it cannot keep', { timeout: 60000, skip: process.env.NATSYNC_TSAN === '1' && 'covered by the other passes' }, async () => {
  const plain = await startNats();  // no JetStream
  const node = await startServer({
    NATS_URL: plain.url, NATS_SUBJECT_PREFIX: `nojs${process.pid}`, NODE_ID: 'nojs', DURABLE_TOPICS: 'orders.>', WS_MESSAGE_RATE: '0',
  }, { single: true });
  try {
    const client = await Client.open(`${node.ws}?user_id=erin`);
    const asked = Date.now();
    client.send({ type: 'subscribe', topic: 'orders.fresh', id: 'fresh' });
    client.send({ type: 'subscribe', topic: 'orders.back', since: { offset: 5, epoch: 'e' }, id: 'back' });
    // A plain topic is acked at once meanwhile.
    assert.equal((await client.request({ type: 'subscribe', topic: 'plain.news' }, 5000)).type, 'subscribe');
    assert.equal((await publish(node, 'orders.fresh', 1)).status, 503);
    const fresh = await client.next((m) => m.id === 'fresh', 45000);
    const back = await client.next((m) => m.id === 'back', 5000);
    const waited = Date.now() - asked;
    for (const reply of [fresh, back]) {
      assert.equal(reply.type, 'error');
      assert.equal(reply.code, 'broker_unavailable');
    }
    assert.ok(waited >= 29000, `waited ${waited} ms for JetStream`);
    // Not subscribed: subscribing again is a new subscribe (not "still being answered").
    client.send({ type: 'subscribe', topic: 'orders.fresh', id: 'again' });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(client.messages.filter((m) => m.id === 'again').length, 0, 'waits again for JetStream');
    await client.close();
  } finally {
    await node.stopClean();
    await plain.remove();
  }
});
