// Several natsync nodes on real nats-server processes act as one server: topic, user
// and broadcast delivery across nodes, exactly once, in order; interest-based NATS
// subscriptions; status; and what happens when NATS or a node goes away.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, Client, postJson, getStatus, waitFor, sleep } = require('./harness');
const { startNats, startNatsCluster } = require('./nats');

let nats;
let nodes = [];
let prefixCounter = 0;

// A cluster of natsync nodes on the given NATS URLs (one list per node), each test its
// own subject prefix so tests never hear each other.
async function startNodes(urlLists, extraEnv = {}) {
  const prefix = `e2e${process.pid}x${prefixCounter++}`;
  return Promise.all(urlLists.map((urls, i) => startServer({
    NATS_URL: urls.join(','), NATS_SUBJECT_PREFIX: prefix, NODE_ID: `node-${String.fromCharCode(97 + i)}`, ...extraEnv,
  })));
}

const dataOf = (client) => client.messages.filter((m) => m.type === 'data');

before(async () => { nats = await startNats(); });
after(async () => {
  for (const node of nodes) await node.stopClean();
  await nats.stop();
});

test('topic, user and broadcast messages cross nodes exactly once', async () => {
  const [a, b, c] = nodes = await startNodes([[nats.url], [nats.url], [nats.url]]);
  const onA = await Client.open(`${a.ws}?user_id=alice`);
  const onB = await Client.open(`${b.ws}?user_id=bob`);
  const aliceOnC = await Client.open(`${c.ws}?user_id=alice`);
  for (const client of [onA, onB, aliceOnC]) await client.next('connect');
  await onA.request({ type: 'subscribe', topic: 'doc.1' });
  await onB.request({ type: 'subscribe', topic: 'doc.1' });

  // REST on the node without subscribers reaches both, once each.
  assert.equal((await postJson(`${c.http}/api/sync/publish`, { topic: 'doc.1', data: { v: 1 } })).status, 200);
  assert.deepEqual(await onA.next('data'), { type: 'data', topic: 'doc.1', data: { v: 1 } });
  assert.deepEqual(await onB.next('data'), { type: 'data', topic: 'doc.1', data: { v: 1 } });

  // sync from A: B gets it through NATS, A (the sender) does not.
  await onA.request({ type: 'sync', topic: 'doc.1', data: { v: 2 } });
  assert.equal((await onB.next('data')).data.v, 2);

  // One user on two nodes.
  assert.equal((await postJson(`${b.http}/api/sync/publish`, { user_id: 'alice', data: 'hi alice' })).status, 200);
  assert.equal((await onA.next((m) => m.data === 'hi alice')).data, 'hi alice');
  assert.equal((await aliceOnC.next((m) => m.data === 'hi alice')).data, 'hi alice');

  // Broadcast from C reaches every connection of every node.
  assert.equal((await postJson(`${c.http}/api/sync/broadcast`, { data: { all: true } })).status, 200);
  for (const client of [onA, onB, aliceOnC]) assert.deepEqual((await client.next((m) => m.data && m.data.all)).data, { all: true });

  await sleep(300);
  // Exactly once: nothing more arrived (no NATS echo on top of local delivery).
  assert.deepEqual(dataOf(onA), []);
  assert.deepEqual(dataOf(onB), []);
  assert.deepEqual(dataOf(aliceOnC), []);

  // The library facade of any node reaches the others too: checked through status.
  await waitFor(async () => { const s = await getStatus(a); return s.cluster.nodes === 3 && s.cluster.connections === 3; }, 8000);
  const status = await getStatus(a);
  assert.equal(status.broker, 'nats');
  assert.equal(status.broker_connected, true);
  assert.equal(status.node, 'node-a');
  assert.equal(status.cluster.connections, 3);
  await Promise.all([onA.close(), onB.close(), aliceOnC.close()]);
});

test('interest-based: a node subscribes in NATS only while a local client wants the topic', async () => {
  const [a, b] = nodes;
  // With no client at all a node holds exactly <prefix>.all and <prefix>.nodes (the
  // previous test's clients are gone once their unsubscribes went through).
  const baseline = 2;
  await waitFor(async () => (await getStatus(a)).broker_subscriptions === baseline &&
    (await getStatus(b)).broker_subscriptions === baseline);
  const onB = await Client.open(`${b.ws}?user_id=watcher`);
  await onB.next('connect');
  const perUser = (await getStatus(b)).broker_subscriptions - baseline;
  for (let i = 0; i < 20; i++) await onB.request({ type: 'subscribe', topic: `room.${i}` });
  assert.equal((await getStatus(b)).broker_subscriptions, baseline + perUser + 20);
  // A node with no subscriber of the topic gets nothing from NATS for it.
  assert.equal((await getStatus(a)).broker_subscriptions, baseline);
  await onB.request({ type: 'unsubscribe', topic: 'room.0' });
  await waitFor(async () => (await getStatus(b)).broker_subscriptions === baseline + perUser + 19);
  // Unsubscribed: publishes on A no longer reach B for that topic.
  await postJson(`${a.http}/api/sync/publish`, { topic: 'room.0', data: 'gone' });
  await postJson(`${a.http}/api/sync/publish`, { topic: 'room.1', data: 'still here' });
  assert.equal((await onB.next('data')).data, 'still here');
  assert.equal(dataOf(onB).length, 0);
  await onB.close();
  await waitFor(async () => (await getStatus(b)).broker_subscriptions === baseline);
});

test('per-topic order holds across nodes for 200 subscribers', { timeout: 60000 }, async () => {
  const [a, b, c] = nodes;
  const subscribers = [];
  for (const node of [a, b]) {
    for (let i = 0; i < 100; i += 50) {
      subscribers.push(...await Promise.all(Array.from({ length: 50 }, (_, j) => Client.open(`${node.ws}?user_id=o${i + j}`))));
    }
  }
  await Promise.all(subscribers.map((s) => s.request({ type: 'subscribe', topic: 'ordered' })));
  const publisher = await Client.open(`${c.ws}?user_id=pub`);
  await publisher.next('connect');
  const count = 300;
  for (let i = 0; i < count; i++) publisher.send({ type: 'sync', topic: 'ordered', data: { seq: i } });
  await waitFor(() => subscribers.every((s) => s.messages.filter((m) => m.type === 'data').length >= count), 30000);
  await sleep(200);
  for (const s of subscribers) {
    assert.deepEqual(s.messages.filter((m) => m.type === 'data').map((m) => m.data.seq), Array.from({ length: count }, (_, i) => i));
  }
  await Promise.all([...subscribers, publisher].map((client) => client.close()));
});

test('nats-server restarted mid-stream: nodes keep serving locally, reconnect, restore subscriptions', { timeout: 60000 }, async () => {
  const [a, b] = nodes;
  const onA = await Client.open(`${a.ws}?user_id=local`);
  const onB = await Client.open(`${b.ws}?user_id=remote`);
  for (const client of [onA, onB]) await client.request({ type: 'subscribe', topic: 'stream' });
  let seq = 0;
  const results = [];
  const publishSome = async (n) => {
    for (let i = 0; i < n; i++) {
      const res = await postJson(`${a.http}/api/sync/publish`, { topic: 'stream', data: { seq } });
      results.push({ seq, status: res.status });
      seq += 1;
      await sleep(5);
    }
  };
  await publishSome(50);
  await waitFor(() => dataOf(onB).length === 50, 5000);

  await nats.stop();
  await waitFor(async () => (await getStatus(a)).broker_connected === false, 5000);
  const outageStart = seq;
  await publishSome(50); // published on A while NATS is down
  const outageEnd = seq;
  await nats.start();
  await waitFor(async () => (await getStatus(a)).broker_connected && (await getStatus(b)).broker_connected, 15000);
  // Subscriptions are restored: wait for a probe published after both reconnected.
  await waitFor(async () => {
    await postJson(`${a.http}/api/sync/publish`, { topic: 'stream', data: { probe: true } });
    return dataOf(onB).some((m) => m.data.probe);
  }, 10000, 200);
  await publishSome(50);
  await waitFor(() => dataOf(onB).filter((m) => m.data.seq >= outageEnd).length === 50, 5000);

  // Local delivery never stopped; REST never failed (the reconnect buffer took the outage).
  assert.deepEqual(dataOf(onA).filter((m) => 'seq' in m.data).map((m) => m.data.seq), Array.from({ length: seq }, (_, i) => i));
  assert.ok(results.every((r) => r.status === 200), JSON.stringify(results.filter((r) => r.status !== 200)));
  // Across nodes: everything before and after the outage arrived, in order, once.
  const remote = dataOf(onB).filter((m) => 'seq' in m.data).map((m) => m.data.seq);
  const duringOutage = remote.filter((s) => s >= outageStart && s < outageEnd);
  assert.deepEqual(remote.filter((s) => s < outageStart), Array.from({ length: outageStart }, (_, i) => i));
  assert.deepEqual(remote.filter((s) => s >= outageEnd), Array.from({ length: seq - outageEnd }, (_, i) => outageEnd + i));
  assert.deepEqual(remote, [...remote].sort((x, y) => x - y), 'no reordering');
  assert.equal(new Set(remote).size, remote.length, 'no duplicates');
  console.log(`# NATS outage: ${outageEnd - outageStart} published on node A while down; ` +
    `${duringOutage.length} of them reached node B after reconnect, ${outageEnd - outageStart - duringOutage.length} lost`);
  await Promise.all([onA.close(), onB.close()]);
});

test('a natsync node killed with SIGKILL: the others are unaffected, its clients move over', async () => {
  const [a, b, c] = nodes;
  const onA = await Client.open(`${a.ws}?user_id=survivor`);
  const onC = await Client.open(`${c.ws}?user_id=mover`);
  await onA.request({ type: 'subscribe', topic: 'life' });
  await onC.request({ type: 'subscribe', topic: 'life' });
  await c.stop('SIGKILL');
  assert.equal((await onC.closed).code, 1006);
  // The mover reconnects to another node and carries on.
  const moved = await Client.open(`${b.ws}?user_id=mover`);
  await moved.request({ type: 'subscribe', topic: 'life' });
  assert.equal((await postJson(`${a.http}/api/sync/publish`, { topic: 'life', data: 'after' })).status, 200);
  assert.equal((await onA.next('data')).data, 'after');
  assert.equal((await moved.next('data')).data, 'after');
  nodes = [a, b];
  await Promise.all([onA.close(), moved.close()]);
});

test('a 3-server NATS cluster loses one server: nodes on it fail over, the others keep receiving', { timeout: 60000 }, async () => {
  for (const node of nodes) await node.stopClean();
  nodes = [];
  const cluster = await startNatsCluster(3);
  try {
    const [s0, s1, s2] = cluster;
    // Node a prefers s0 (then the others it learns from the cluster); b and c sit on s1, s2.
    const [a, b, c] = nodes = await startNodes([[s0.url, s1.url], [s1.url], [s2.url]]);
    const clients = [];
    for (const node of [a, b, c]) {
      const client = await Client.open(`${node.ws}?user_id=u`);
      await client.request({ type: 'subscribe', topic: 'feed' });
      clients.push(client);
    }
    // Routes take a moment to exchange interest: wait until a publish reaches everyone.
    await waitFor(async () => {
      await postJson(`${b.http}/api/sync/publish`, { topic: 'feed', data: { warmup: true } });
      return clients.every((cl) => dataOf(cl).some((m) => m.data.warmup));
    }, 10000, 200);

    await s0.stop('SIGKILL');
    // b and c never lose their server: what b publishes keeps reaching c at once.
    for (let i = 0; i < 20; i++) {
      assert.equal((await postJson(`${b.http}/api/sync/publish`, { topic: 'feed', data: { i } })).status, 200);
    }
    const numbered = (cl) => dataOf(cl).filter((m) => 'i' in m.data).map((m) => m.data.i);
    await waitFor(() => numbered(clients[2]).length === 20, 5000);
    assert.deepEqual(numbered(clients[2]), Array.from({ length: 20 }, (_, i) => i));
    // a fails over to another server and receives again.
    await waitFor(async () => (await getStatus(a)).broker_connected, 15000);
    await waitFor(async () => {
      await postJson(`${c.http}/api/sync/publish`, { topic: 'feed', data: { after: true } });
      return dataOf(clients[0]).some((m) => m.data.after);
    }, 15000, 200);
    assert.match(a.output(), /NATS (disconnected|reconnected)/);
    await Promise.all(clients.map((cl) => cl.close()));
  } finally {
    for (const node of nodes) await node.stopClean();
    nodes = [];
    for (const server of cluster) await server.stop();
  }
});

test('NATS down at start: the node serves local clients, connects when NATS appears', { timeout: 30000 }, async () => {
  const { freePort } = require('./nats');
  const port = await freePort();
  const [node] = await startNodes([[`nats://127.0.0.1:${port}`]]);
  try {
    assert.match(node.output(), /NATS not reachable yet/);
    assert.equal((await getStatus(node)).broker_connected, false);
    const client = await Client.open(`${node.ws}?user_id=early`);
    await client.request({ type: 'subscribe', topic: 'local.only' });
    assert.equal((await postJson(`${node.http}/api/sync/publish`, { topic: 'local.only', data: 1 })).status, 200);
    assert.equal((await client.next('data')).data, 1);
    const late = await startNats({ port });
    try {
      await waitFor(async () => (await getStatus(node)).broker_connected, 15000);
      await client.close();
    } finally {
      await late.stop();
    }
  } finally {
    await node.stopClean();
  }
});

test('publishes NATS cannot take (outage longer than the reconnect buffer) get 503, never silence', { timeout: 30000 }, async () => {
  const own = await startNats();
  const [node] = await startNodes([[own.url]], { NATS_RECONNECT_BUFFER: '4096' });
  try {
    const client = await Client.open(`${node.ws}?user_id=local`);
    await client.request({ type: 'subscribe', topic: 'big' });
    await own.stop();
    await waitFor(async () => (await getStatus(node)).broker_connected === false, 5000);
    const statuses = [];
    for (let i = 0; i < 20; i++) {
      const res = await postJson(`${node.http}/api/sync/publish`, { topic: 'big', data: { i, pad: 'x'.repeat(500) } });
      statuses.push(res.status);
      if (res.status === 503) assert.equal(res.json.code, 'broker_unavailable');
    }
    assert.ok(statuses.slice(0, 3).every((s) => s === 200), `first fit the buffer: ${statuses}`);
    assert.equal(statuses.at(-1), 503, `then 503: ${statuses}`);
    // Local subscribers got every one of them regardless.
    await waitFor(() => dataOf(client).length === 20, 5000);
    await client.close();
  } finally {
    await node.stopClean();
  }
});
