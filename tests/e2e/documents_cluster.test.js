// Shared documents in a cluster (DOCUMENT_TOPICS with NATS_URL, docs/documents.md): 3
// natsync nodes on a real 3-server nats-server cluster with JetStream, the documents in
// one stream with 3 replicas. Subscribers on every node see the same consecutive
// revisions; a counter incremented with if_revision by writers on every node ends at
// exactly 1,000; a resubscription on another node gets what it missed; a node SIGKILLed
// during acknowledged changes loses none of them, and every subscriber converges.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, Client, waitFor, sleep } = require('./harness');
const { startNatsCluster } = require('./nats');
const { subscribed, getDocument, postDocument, incrementCounter } = require('./document_clients');

const SANITIZED = process.env.NATSYNC_SANITIZED === '1';
let natsServers = [];
let nodes = [];
let prefixCounter = 0;

// 3 nodes, each preferring another nats-server, on a prefix of their own (a stream of
// their own). `HISTORY_SIZE` bounds the changes kept per document.
async function startNodes(extra = {}) {
  const prefix = `docs${process.pid}x${prefixCounter++}`;
  const urls = natsServers.map((s) => s.url);
  const envOf = (slot) => ({
    NATS_URL: [...urls.slice(slot), ...urls.slice(0, slot)].join(','), NATS_SUBJECT_PREFIX: prefix,
    NODE_ID: `${prefix}-${slot}`, DOCUMENT_TOPICS: 'board.>,counter.*', HISTORY_REPLICAS: '3',
    HISTORY_SIZE: '1000', WS_MESSAGE_RATE: '0', DATA_DIR: '/nonexistent/natsync-unused', ...extra,
  });
  const started = [];
  for (let slot = 0; slot < 3; slot++) {
    const node = await startServer(envOf(slot), { single: true });
    node.env = envOf(slot);
    started.push(node);
  }
  await Promise.all(started.map((node) => waitFor(() => /documents in JetStream stream/.test(node.output()), 30000)));
  nodes.push(...started);
  return started;
}

async function stopNodes() {
  for (const node of nodes) await node.stop('SIGKILL');
  nodes = [];
}

before(async () => { natsServers = await startNatsCluster(3, { jetstream: true }); });
after(async () => {
  await stopNodes();
  for (const server of natsServers) await server.remove();
});

test('nodes that create the streams at the same moment all name the same epoch, for the history and for the documents', { timeout: 120000 }, async () => {
  // Each node's stream create can be answered with another creation time (nats-server
  // 2.9.10, one start in three or four): the epoch is a marker in the stream instead.
  const urls = natsServers.map((s) => s.url);
  for (let round = 0; round < (SANITIZED ? 2 : 5); round++) {
    const prefix = `epoch${process.pid}x${round}`;
    const started = await Promise.all([0, 1, 2].map((slot) => startServer({
      NATS_URL: [...urls.slice(slot), ...urls.slice(0, slot)].join(','), NATS_SUBJECT_PREFIX: prefix, NODE_ID: `${prefix}-${slot}`,
      DURABLE_TOPICS: 'orders.>', DOCUMENT_TOPICS: 'board.>', HISTORY_REPLICAS: '3',
    }, { single: true })));
    nodes.push(...started);
    const epochOf = (node, what) => new RegExp(`${what} in JetStream stream \\S+ \\(epoch ([0-9a-f]{16})`).exec(node.output())?.[1];
    await Promise.all(started.map((node) => waitFor(() => epochOf(node, 'history') && epochOf(node, 'documents'), 30000)));
    for (const what of ['history', 'documents']) {
      const epochs = started.map((node) => epochOf(node, what));
      assert.equal(new Set(epochs).size, 1, `round ${round}, ${what}: ${epochs.join(' ')}`);
    }
    const client = await Client.open(`${started[2].ws}?user_id=e`);
    await client.next('connect');
    assert.equal((await client.request({ type: 'subscribe', topic: 'board.e' }, 10000)).epoch, epochOf(started[0], 'documents'));
    client.terminate();
    await stopNodes();
  }
});

test('subscribers on every node see the same consecutive revisions of changes written on every node, in all three forms', { timeout: 60000 }, async () => {
  const cluster = await startNodes();
  const subscribers = await Promise.all(Array.from({ length: 9 }, (_, i) => subscribed(cluster[i % 3], `s${i}`, 'board.1')));
  for (const { ack, mirror } of subscribers) {
    assert.equal(ack.revision, 0);
    assert.match(ack.epoch, /^[0-9a-f]{16}$/);
    assert.equal(mirror.data, null);
  }
  const writers = await Promise.all(cluster.map(async (node, i) => {
    const client = await Client.open(`${node.ws}?user_id=w${i}`);
    await client.next('connect');
    return client;
  }));
  const changes = [{ data: { title: 'plan', cards: [] } }];
  for (let i = 1; i < 30; i++) {
    if (i % 3 === 0) changes.push({ data: { title: `plan ${i}`, [`k${i}`]: i } });
    else if (i % 3 === 1) changes.push({ ops: [{ op: 'add', path: '/cards/-', value: { n: i } }] });
    else changes.push(i === 29 ? { data: { final: true, cards: [1, 2] }, replace: true } : { data: { [`k${i - 2}`]: null } });
  }
  // Written one after another, each on the next node: revisions 1..30 in this order.
  for (const [i, change] of changes.entries()) {
    const ack = await writers[i % 3].request({ type: 'patch', topic: 'board.1', ...change }, 10000);
    assert.equal(ack.type, 'patch', JSON.stringify(ack));
    assert.equal(ack.revision, i + 1);
  }
  for (const node of cluster) {
    const stored = await getDocument(node, 'board.1');
    assert.deepEqual([stored.status, stored.json.revision, stored.json.data], [200, 30, { final: true, cards: [1, 2] }]);
  }
  await waitFor(() => subscribers.every(({ mirror }) => mirror.revision === 30), 10000);
  const expected = Array.from({ length: 30 }, (_, i) => i + 1);
  for (const { mirror } of subscribers) {
    assert.deepEqual(mirror.revisions, expected);
    assert.equal(mirror.gaps, 0);
    assert.deepEqual(mirror.data, { final: true, cards: [1, 2] });
  }
  const seen = subscribers[1].client.seen.filter((m) => m.type === 'patch');
  assert.deepEqual(seen[1], { type: 'patch', topic: 'board.1', revision: 2, ops: changes[1].ops });

  // Away for 20 changes, back on another node with since: exactly those, then live.
  const away = subscribers[0];
  const kept = { revision: away.mirror.revision, data: away.mirror.data, epoch: away.ack.epoch };
  away.client.terminate();
  for (let i = 0; i < 20; i++) {
    const ack = await writers[i % 3].request({ type: 'patch', topic: 'board.1', data: { n: i } }, 10000);
    assert.equal(ack.revision, 31 + i);
  }
  const back = await subscribed(cluster[1], 'back', 'board.1', kept);
  assert.equal(back.ack.recovered, true, JSON.stringify(back.ack));
  assert.equal(back.ack.revision, 50);
  await waitFor(() => back.mirror.revision === 50, 5000);
  assert.deepEqual(back.mirror.revisions, Array.from({ length: 20 }, (_, i) => 31 + i));
  assert.equal(back.client.seen.filter((m) => m.type === 'snapshot').length, 0);
  assert.deepEqual(back.mirror.data, (await getDocument(cluster[2], 'board.1')).json.data);
  // A revision from another epoch: a snapshot.
  const stranger = await subscribed(cluster[2], 'stranger', 'board.1', { ...kept, epoch: '0000000000000000' });
  assert.equal(stranger.ack.recovered, false);
  assert.equal(stranger.mirror.revision, 50);

  // REST writes and reads go through the same stream, from any node.
  const conflict = await postDocument(cluster[0], { topic: 'board.1', data: { x: 1 }, if_revision: 3 });
  assert.deepEqual([conflict.status, conflict.json.revision], [409, 50]);
  const accepted = await postDocument(cluster[2], { topic: 'board.1', data: { x: 1 }, if_revision: 50 });
  assert.deepEqual([accepted.status, accepted.json.revision], [200, 51]);
  await waitFor(() => back.mirror.revision === 51 && subscribers.slice(1).every(({ mirror }) => mirror.revision === 51), 5000);
  for (const c of [...writers, back.client, stranger.client, ...subscribers.map((s) => s.client)]) c.terminate();
  await stopNodes();
});

test('a node that did not follow a document catches a resubscriber up from the stream while the changes are kept, else sends a snapshot', { timeout: 60000 }, async () => {
  const cluster = await startNodes({ HISTORY_SIZE: '10' });
  const writer = await Client.open(`${cluster[0].ws}?user_id=writer`);
  await writer.next('connect');
  for (let i = 1; i <= 20; i++) {
    assert.equal((await writer.request({ type: 'patch', topic: 'board.2', data: { [`k${i}`]: i } }, 10000)).revision, i);
  }
  const { epoch } = (await getDocument(cluster[0], 'board.2')).json;
  const at = (n) => ({ revision: n, epoch, data: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i + 1}`, i + 1])) });
  // Node 2 never loaded board.2: 8 changes after revision 12 are read back from the stream.
  const near = await subscribed(cluster[2], 'near', 'board.2', at(12));
  assert.equal(near.ack.recovered, true, JSON.stringify(near.ack));
  await waitFor(() => near.mirror.revision === 20, 5000);
  assert.deepEqual(near.mirror.revisions, [13, 14, 15, 16, 17, 18, 19, 20]);
  assert.deepEqual(near.mirror.data, at(20).data);
  // 15 after revision 5: more than HISTORY_SIZE, so no longer all in the stream.
  const far = await subscribed(cluster[1], 'far', 'board.2', at(5));
  assert.equal(far.ack.recovered, false);
  assert.equal(far.client.seen.filter((m) => m.type === 'snapshot').length, 1);
  assert.deepEqual([far.mirror.revision, far.mirror.data], [20, at(20).data]);
  const live = await writer.request({ type: 'patch', topic: 'board.2', ops: [{ op: 'remove', path: '/k1' }] }, 10000);
  assert.equal(live.revision, 21);
  await waitFor(() => near.mirror.revision === 21 && far.mirror.revision === 21, 5000);
  assert.deepEqual(near.mirror.data, far.mirror.data);
  for (const c of [writer, near.client, far.client]) c.terminate();
  await stopNodes();
});

test('20 clients on 3 nodes x 50 increments with if_revision and retry: the counter is exactly 1,000 on every node', { timeout: 180000 }, async () => {
  const cluster = await startNodes();
  const CLIENTS = 20;
  const INCREMENTS = SANITIZED ? 10 : 50;
  const writers = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => subscribed(cluster[i % 3], `w${i}`, 'counter.c')));
  const watchers = await Promise.all(Array.from({ length: 6 }, (_, i) => subscribed(cluster[i % 3], `r${i}`, 'counter.c')));
  const started = Date.now();
  const conflicts = await incrementCounter(writers, 'counter.c', INCREMENTS);
  const seconds = (Date.now() - started) / 1000;
  const total = CLIENTS * INCREMENTS;
  for (const node of cluster) {
    const stored = await getDocument(node, 'counter.c');
    assert.deepEqual([stored.json.data.value, stored.json.revision], [total, total]);
  }
  for (const { mirror, client } of [...writers, ...watchers]) {
    await waitFor(() => mirror.revision === total, 10000);
    assert.deepEqual(mirror.data, { value: total });
    assert.equal(mirror.gaps, 0);
    client.terminate();
  }
  console.log(`# cluster counter: ${total} increments by ${CLIENTS} clients on 3 nodes in ${seconds.toFixed(1)} s, ${conflicts} conflicts retried`);
  await stopNodes();
});

test('a node SIGKILLed during acknowledged changes from every node: none is lost, and every subscriber converges after resubscribing with since', { timeout: 120000 }, async () => {
  const cluster = await startNodes();
  const topic = 'board.crash';
  const live = () => cluster.filter((node) => !node.killed);
  // Subscribers that survive their node: on a close, resubscribe on a live node with since.
  const subscribers = [];
  const follow = async (name, slot) => {
    const state = { name, kept: null, reconnects: 0, recovered: 0, gaps: 0 };
    const connect = async () => {
      const node = live()[slot % live().length];
      const s = await subscribed(node, name, topic, state.kept);
      if (state.kept) { state.reconnects++; if (s.ack.recovered) state.recovered++; }
      state.current = s;
      s.client.ws.on('close', () => {
        state.gaps += s.mirror.gaps;
        state.kept = { revision: s.mirror.revision, data: s.mirror.data, epoch: s.ack.epoch };
        if (!state.done) setTimeout(() => connect().catch(() => {}), 100);
      });
    };
    await connect();
    subscribers.push(state);
  };
  for (let i = 0; i < 6; i++) await follow(`f${i}`, i);

  // Writers: each on its own node, each change adds a key of its own; acked ones are recorded.
  const acked = new Set();
  let stop = false;
  const writer = async (slot) => {
    let n = 0;
    while (!stop) {
      const node = live()[slot % live().length];
      let client;
      try {
        client = await Client.open(`${node.ws}?user_id=writer${slot}`);
        await client.next('connect');
        while (!stop && !node.killed) {
          const key = `w${slot}_${n++}`;
          const reply = await client.request({ type: 'patch', topic, data: { [key]: true } }, 10000);
          if (reply.type === 'patch') acked.add(key);
        }
      } catch { /* the node died under it: go on elsewhere */ }
      client?.terminate();
      await sleep(50);
    }
  };
  const writing = [0, 1, 2].map(writer);
  await sleep(2000);
  const victim = cluster[1];
  victim.killed = true;
  await victim.stop('SIGKILL');
  await sleep(2000);
  const restarted = await startServer(victim.env, { single: true });
  await waitFor(() => /documents in JetStream stream/.test(restarted.output()), 30000);
  restarted.env = victim.env;
  cluster[1] = restarted;
  nodes.push(restarted);
  await sleep(2000);
  stop = true;
  await Promise.all(writing);

  const stored = await getDocument(cluster[0], topic);
  const missing = [...acked].filter((key) => stored.json.data[key] !== true);
  assert.deepEqual(missing, [], `${missing.length} of ${acked.size} acknowledged changes lost`);
  assert.ok(stored.json.revision >= acked.size);
  for (const state of subscribers) {
    await waitFor(() => state.current.mirror.revision === stored.json.revision, 15000);
    state.done = true;
    assert.deepEqual(state.current.mirror.data, stored.json.data, state.name);
    assert.equal(state.gaps + state.current.mirror.gaps, 0, `${state.name} saw a gap`);
    state.current.client.terminate();
  }
  const reconnects = subscribers.reduce((sum, s) => sum + s.reconnects, 0);
  const recovered = subscribers.reduce((sum, s) => sum + s.recovered, 0);
  console.log(`# cluster crash: ${acked.size} changes acknowledged, revision ${stored.json.revision}, 0 lost; ${reconnects} resubscriptions, ${recovered} recovered`);
  await stopNodes();
});
