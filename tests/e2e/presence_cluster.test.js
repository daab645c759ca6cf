// Presence, the server API and wildcard subscriptions across 3 natsync nodes on a real
// nats-server: every node sees every member, commands reach a user's connections on
// every node, a dead node's members leave, and a mass reconnect stays within its NATS
// message budget (docs/cluster.md, Presence).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, Client, postJson, sleep, waitFor } = require('./harness');
const { startNats } = require('./nats');

const API_KEY = 'presence-cluster-key';
const HEARTBEAT_MS = 2000;  // NatsSettings::heartbeat: a dead node's members leave within 2 of them
// Under the sanitizers (several times slower) the same cases with fewer connections.
const SANITIZED = process.env.NATSYNC_SANITIZED === '1';
const MEMBERS = SANITIZED ? 300 : 1000;
const RECONNECTING = SANITIZED ? 500 : 2000;
let nats;
let nodes = [];

before(async () => {
  nats = await startNats({ monitor: true });
  nodes = await Promise.all(['a', 'b', 'c'].map((id) => startServer({
    NATS_URL: nats.url, NATS_SUBJECT_PREFIX: `pc${process.pid}`, NODE_ID: `node-${id}`, SYNC_API_KEY: API_KEY,
    PRESENCE_TOPICS: 'room.*',
  })));
});
after(async () => {
  for (const node of nodes) await node.stopClean();
  await nats.stop();
});

const auth = { Authorization: `Bearer ${API_KEY}` };
const presenceOn = async (node, topic) =>
  (await fetch(`${node.http}/api/sync/presence?topic=${topic}`, { headers: auth })).json();
async function connect(node, user) {
  const client = await Client.open(`${node.ws}?user_id=${user}`);
  client.hello = await client.next('connect');
  return client;
}
const idOf = (client) => client.hello.data.client_id;
const events = (client, type) => client.messages.filter((m) => m.type === type).map((m) => m.data.client_id);

test('join and leave reach every other member on every node, exactly once', async () => {
  const [a, b, c] = nodes;
  const clients = [await connect(a, 'ann'), await connect(b, 'ben'), await connect(c, 'cat')];
  assert.equal(new Set(clients.map(idOf)).size, 3);  // client ids are unique in the cluster
  for (const client of clients) {
    await client.request({ type: 'subscribe', topic: 'room.1' });
    await sleep(300);  // each join goes out before the next member comes
  }
  await waitFor(async () => (await Promise.all(nodes.map((n) => presenceOn(n, 'room.1'))))
    .every((p) => p.connections === 3 && p.users === 3), 5000);
  // Each saw the joins of those who came after it, once; never its own.
  assert.deepEqual(events(clients[0], 'join'), [idOf(clients[1]), idOf(clients[2])]);
  assert.deepEqual(events(clients[1], 'join'), [idOf(clients[2])]);
  assert.deepEqual(events(clients[2], 'join'), []);

  await clients[1].request({ type: 'unsubscribe', topic: 'room.1' });
  await clients[2].close();
  await waitFor(() => events(clients[0], 'leave').length === 2, 5000);
  await sleep(300);
  assert.deepEqual(events(clients[0], 'leave').sort(), [idOf(clients[1]), idOf(clients[2])].sort());
  assert.deepEqual(events(clients[1], 'leave'), []);  // unsubscribed before cat left
  const members = (await presenceOn(b, 'room.1')).members;
  assert.deepEqual(members, [{ user_id: 'ann', client_id: idOf(clients[0]) }]);
  await Promise.all([clients[0].close(), clients[1].close()]);
});

test(`presence counts are exact with ${MEMBERS} members over 3 nodes`, { timeout: 90000 }, async () => {
  const clients = [];
  for (let i = 0; i < MEMBERS; i++) clients.push(connect(nodes[i % 3], `user${i % 400}`));
  const opened = await Promise.all(clients);
  await Promise.all(opened.map((client) => client.request({ type: 'subscribe', topic: 'room.big' }, 20000)));
  await waitFor(async () => (await Promise.all(nodes.map((n) => presenceOn(n, 'room.big'))))
    .every((p) => p.connections === MEMBERS), 20000);
  for (const node of nodes) {
    const presence = await presenceOn(node, 'room.big');
    assert.equal(presence.users, Math.min(400, MEMBERS));
    assert.equal(presence.members.length, MEMBERS);  // PRESENCE_MAX_MEMBERS: 1000
    assert.equal(presence.truncated, undefined);
    assert.equal(new Set(presence.members.map((m) => m.client_id)).size, MEMBERS);
  }
  await Promise.all(opened.map((client) => client.close()));
  await waitFor(async () => (await Promise.all(nodes.map((n) => presenceOn(n, 'room.big'))))
    .every((p) => p.connections === 0), 20000);
});

test('the server API acts on a user\'s connections on every node; topics are listed cluster-wide', async () => {
  const [a, b, c] = nodes;
  const onA = await connect(a, 'dora');
  const onC = await connect(c, 'dora');
  const watcher = await connect(b, 'eve');
  await watcher.request({ type: 'subscribe', topic: 'news.x' });
  assert.equal((await postJson(`${b.http}/api/sync/subscribe`, { user_id: 'dora', topic: 'news.x' }, auth)).status, 200);
  for (const tab of [onA, onC]) assert.deepEqual(await tab.next('subscribe'), { type: 'subscribe', topic: 'news.x', server: true });
  const listed = await (await fetch(`${b.http}/api/sync/topics?pattern=news.*`, { headers: auth })).json();
  assert.deepEqual(listed, { topics: [{ topic: 'news.x', subscribers: 3 }], truncated: false });

  await postJson(`${a.http}/api/sync/publish`, { topic: 'news.x', data: 'all three' }, auth);
  for (const client of [onA, onC, watcher]) assert.equal((await client.next('data')).data, 'all three');
  await postJson(`${b.http}/api/sync/unsubscribe`, { user_id: 'dora', topic: 'news.x' }, auth);
  for (const tab of [onA, onC]) assert.equal((await tab.next('unsubscribe')).server, true);
  await postJson(`${b.http}/api/sync/disconnect`, { user_id: 'dora', reason: 'logout', reconnect: false }, auth);
  for (const tab of [onA, onC]) {
    assert.deepEqual((await tab.next('disconnect')).data, { reason: 'logout', reconnect: false });
    assert.equal((await tab.closed).code, 4011);
  }
  await watcher.close();
});

test('a wildcard subscription gets each message once per connection across nodes', async () => {
  const [a, b] = nodes;
  const sub = await connect(b, 'wanda');
  for (const topic of ['chat.*', 'chat.>', 'chat.x']) await sub.request({ type: 'subscribe', topic });
  const publisher = await connect(a, 'pete');
  for (let i = 0; i < 50; i++) {
    await postJson(`${a.http}/api/sync/publish`, { topic: i % 2 ? 'chat.x' : 'chat.y.z', data: i }, auth);
  }
  await publisher.request({ type: 'sync', topic: 'chat.x', data: 'from a client', id: 1 });
  await waitFor(() => sub.messages.filter((m) => m.type === 'data').length >= 51, 5000);
  await sleep(300);
  const data = sub.messages.filter((m) => m.type === 'data');
  assert.equal(data.length, 51);
  assert.deepEqual(data.slice(0, 50).map((m) => m.data), Array.from({ length: 50 }, (_, i) => i));
  assert.equal(data[1].topic, 'chat.x');
  assert.equal(data[2].topic, 'chat.y.z');
  // Overlapping subscriptions come and go: nothing is lost meanwhile.
  await sub.request({ type: 'unsubscribe', topic: 'chat.x' });
  await sub.request({ type: 'unsubscribe', topic: 'chat.>' });
  sub.messages.length = 0;
  for (let i = 0; i < 20; i++) await postJson(`${a.http}/api/sync/publish`, { topic: 'chat.x', data: i }, auth);
  await waitFor(() => sub.messages.filter((m) => m.type === 'data').length >= 20, 5000);
  await sleep(200);
  assert.equal(sub.messages.filter((m) => m.type === 'data').length, 20);
  await Promise.all([sub.close(), publisher.close()]);
});

test(`a mass reconnect of ${RECONNECTING} connections stays within the NATS message budget`, { timeout: 120000 }, async () => {
  const [a, b] = nodes;
  const watcher = await connect(nodes[2], 'watcher');
  await watcher.request({ type: 'subscribe', topic: 'room.mass' });
  const openAll = async () => {
    const clients = await Promise.all(Array.from({ length: RECONNECTING }, (_, i) => connect(i % 2 ? a : b, `m${i}`)));
    await Promise.all(clients.map((client) => client.request({ type: 'subscribe', topic: 'room.mass' }, 30000)));
    return clients;
  };
  let clients = await openAll();
  await waitFor(async () => (await presenceOn(nodes[2], 'room.mass')).connections === RECONNECTING + 1, 30000);
  const before = await nats.varz();
  const started = Date.now();
  // Everyone drops and comes back (a load balancer restart, a network blip).
  await Promise.all(clients.map((client) => client.close()));
  clients = await openAll();
  await waitFor(async () => (await presenceOn(nodes[2], 'room.mass')).connections === RECONNECTING + 1, 30000);
  await sleep(500);
  const elapsedMs = Date.now() - started;
  const varz = await nats.varz();
  const natsMessages = varz.in_msgs - before.in_msgs;
  // Presence sends at most one message per node per 50 ms batch (kMaxEventsPerMessage
  // events each), plus every node's heartbeat every 2 s: 4,000 joins and leaves must not
  // become 4,000 messages (nor 2,000²).
  const budget = 2 * Math.ceil(elapsedMs / 50) + 3 * Math.ceil(elapsedMs / HEARTBEAT_MS) + 10;
  console.log(`mass reconnect: ${RECONNECTING} connections in ${elapsedMs} ms, ${natsMessages} NATS messages published ` +
              `(budget ${budget}); the watcher got ${watcher.messages.filter((m) => m.type === 'presence_summary').length} ` +
              `summaries and ${watcher.messages.filter((m) => m.type === 'join' || m.type === 'leave').length} single events`);
  assert.ok(natsMessages <= budget, `${natsMessages} NATS messages, budget ${budget}`);
  // The watcher heard of every join and leave, one by one or summed up.
  const counted = watcher.messages.reduce((n, m) => n + (m.type === 'presence_summary' ? m.data.joins + m.data.leaves
    : (m.type === 'join' || m.type === 'leave') ? 1 : 0), 0);
  assert.equal(counted, 3 * RECONNECTING);  // the joins, then as many leaves and joins again
  await Promise.all(clients.map((client) => client.close()));
  await watcher.close();
});

test('the members of a SIGKILLed node leave within 2 heartbeats', { timeout: 30000 }, async () => {
  const [a, , c] = nodes;
  const onA = await connect(a, 'survivor');
  await onA.request({ type: 'subscribe', topic: 'room.kill' });
  const doomed = await Promise.all(Array.from({ length: 5 }, (_, i) => connect(c, `doomed${i}`)));
  await Promise.all(doomed.map((client) => client.request({ type: 'subscribe', topic: 'room.kill' })));
  await waitFor(async () => (await presenceOn(a, 'room.kill')).connections === 6, 5000);
  await sleep(300);
  onA.messages.length = 0;
  const killedAt = Date.now();
  await c.stop('SIGKILL');
  await waitFor(() => events(onA, 'leave').length === 5, 2 * HEARTBEAT_MS + 2000);
  const after = Date.now() - killedAt;
  console.log(`SIGKILLed node: its 5 members left after ${after} ms`);
  assert.ok(after <= 2 * HEARTBEAT_MS + 1000, `${after} ms`);
  assert.deepEqual(events(onA, 'leave').sort(), doomed.map(idOf).sort());
  assert.equal((await presenceOn(a, 'room.kill')).connections, 1);
  nodes = nodes.filter((n) => n !== c);
  await onA.close();
});
