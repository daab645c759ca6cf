// Wildcard subscriptions, presence and the server API on one natsync process (the
// cluster-wide behaviour is in presence_cluster.test.js), driven with npm `ws` and fetch.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, Client, postJson, sleep, waitFor } = require('./harness');

const API_KEY = 'presence-test-key';
let server;

before(async () => {
  server = await startServer({
    PRESENCE_TOPICS: 'room.*,private.*.inbox', PRESENCE_MAX_MEMBERS: '3', SYNC_API_KEY: API_KEY,
    DEFAULT_SUBSCRIBE_TOPICS: 'chat.>,room.*,news.*,private.>,>',
  });
});
after(async () => { await server.stopClean(); });

const auth = { Authorization: `Bearer ${API_KEY}` };
const api = (path, body) => postJson(`${server.http}${path}`, body, auth);
const get = async (path, headers = auth) => {
  const response = await fetch(`${server.http}${path}`, { headers });
  return { status: response.status, body: await response.json() };
};
async function connect(user) {
  const client = await Client.open(`${server.ws}?user_id=${user}`);
  client.hello = await client.next('connect');
  return client;
}
const ofType = (client, type) => client.messages.filter((m) => m.type === type);

test('a pattern subscription delivers every matching topic once, with its concrete topic', async () => {
  const a = await connect('alice');
  const b = await connect('bob');
  for (const topic of ['chat.*', 'chat.>', 'chat.x']) {
    assert.deepEqual(await a.request({ type: 'subscribe', topic, id: topic }), { type: 'subscribe', topic, id: topic });
  }
  await b.request({ type: 'subscribe', topic: 'chat.*' });
  await api('/api/sync/publish', { topic: 'chat.x', data: 1 });
  await api('/api/sync/publish', { topic: 'chat.y.z', data: 2 });
  await api('/api/sync/publish', { topic: 'news.x', data: 3 });
  assert.deepEqual(await a.next('data'), { type: 'data', topic: 'chat.x', data: 1 });
  assert.deepEqual(await a.next('data'), { type: 'data', topic: 'chat.y.z', data: 2 });
  assert.deepEqual(await b.next('data'), { type: 'data', topic: 'chat.x', data: 1 });
  // A client's sync into a matching topic reaches the pattern's subscribers, not itself.
  await b.request({ type: 'sync', topic: 'chat.q', data: 4, id: 1 });
  assert.deepEqual(await a.next('data'), { type: 'data', topic: 'chat.q', data: 4 });
  await sleep(200);
  assert.deepEqual(ofType(a, 'data'), []);  // three subscriptions matched chat.x: one copy
  assert.deepEqual(ofType(b, 'data'), []);

  // Unsubscribe with the same pattern removes just it.
  assert.deepEqual(await a.request({ type: 'unsubscribe', topic: 'chat.>', id: 9 }),
    { type: 'unsubscribe', topic: 'chat.>', id: 9 });
  await api('/api/sync/publish', { topic: 'chat.y.z', data: 5 });
  await api('/api/sync/publish', { topic: 'chat.x', data: 6 });
  assert.equal((await a.next('data')).data, 6);
  await sleep(100);
  assert.deepEqual(ofType(a, 'data'), []);
  await Promise.all([a.close(), b.close()]);
});

test('patterns: hostile input, recovery and permissions are refused clearly', async () => {
  const a = await connect('alice');
  const code = async (message) => (await a.request({ ...message, id: 1 })).code;
  for (const topic of ['chat.>.x', 'chat..*', 'chat.*.', '.>', 'chat*', 'a.b>', '*.é', `${'a.'.repeat(130)}*`]) {
    assert.equal(await code({ type: 'subscribe', topic }), 'invalid_topic', topic);
  }
  assert.equal(await code({ type: 'sync', topic: 'chat.*', data: 1 }), 'invalid_topic');
  assert.equal(await code({ type: 'subscribe', topic: 'chat.*', since: { offset: 1, epoch: 'e' } }), 'invalid_message');
  // `>` and `private.*` could reach other users' personal topics (PERSONAL_TOPIC_PREFIX
  // "private"); `news.>` could reach news.a.b, which no permission pattern covers as a
  // whole (`news.*` and `>` are separate: one pattern must cover it... `>` does, but
  // `>` itself is refused only for personal topics: see the next line).
  assert.equal(await code({ type: 'subscribe', topic: '>' }), 'permission_denied');
  assert.equal(await code({ type: 'subscribe', topic: 'private.*' }), 'permission_denied');
  assert.equal(await code({ type: 'subscribe', topic: '*.bob.>' }), 'permission_denied');
  assert.equal((await a.request({ type: 'subscribe', topic: 'private.alice.>', id: 2 })).type, 'subscribe');
  await a.close();

  // With narrower default permissions: a pattern needs one pattern covering all it can match.
  const narrow = await startServer({ DEFAULT_SUBSCRIBE_TOPICS: 'chat.>,news.*' });
  try {
    const c = await Client.open(`${narrow.ws}?user_id=carol`);
    await c.next('connect');
    assert.equal((await c.request({ type: 'subscribe', topic: 'news.>', id: 1 })).code, 'permission_denied');
    assert.equal((await c.request({ type: 'subscribe', topic: '*.x', id: 2 })).code, 'permission_denied');
    assert.equal((await c.request({ type: 'subscribe', topic: 'news.*', id: 3 })).type, 'subscribe');
    assert.equal((await c.request({ type: 'subscribe', topic: 'chat.*.y.>', id: 4 })).type, 'subscribe');
    await c.close();
  } finally {
    await narrow.stopClean();
  }
});

test('presence: join and leave reach every other member once; presence answers with exact counts', async () => {
  const a = await connect('alice');
  const b = await connect('bob');
  const b2 = await connect('bob');
  await a.request({ type: 'subscribe', topic: 'room.1' });
  await b.request({ type: 'subscribe', topic: 'room.1' });
  const joinOfB = await a.next('join');
  assert.deepEqual(joinOfB, { type: 'join', topic: 'room.1', data: { user_id: 'bob', client_id: b.hello.data.client_id } });
  await b2.request({ type: 'subscribe', topic: 'room.1' });
  assert.equal((await a.next('join')).data.client_id, b2.hello.data.client_id);
  // Joins go out in batches (50 ms): a subscriber may also get the join of a member that
  // came just before it. Never its own, never twice.
  await sleep(200);
  for (const client of [b, b2]) {
    const ids = [b, b2].filter((c) => c !== client).map((c) => c.hello.data.client_id);
    const seen = client.messages.filter((m) => m.type === 'join').map((m) => m.data.client_id);
    assert.equal(new Set(seen).size, seen.length);
    assert.equal(seen.includes(client.hello.data.client_id), false);
    if (client === b) assert.ok(seen.includes(ids[0]));
    client.messages.length = 0;
  }

  const answer = await a.request({ type: 'presence', topic: 'room.1', id: 'p' });
  assert.equal(answer.type, 'presence');
  assert.equal(answer.id, 'p');
  assert.equal(answer.data.connections, 3);
  assert.equal(answer.data.users, 2);
  assert.deepEqual(answer.data.members.map((m) => m.client_id).sort(),
    [a, b, b2].map((c) => c.hello.data.client_id).sort());
  // REST says the same (in a cluster another node may list the members in another order).
  const sorted = (data) => ({ ...data, members: [...data.members].sort((x, y) => x.client_id.localeCompare(y.client_id)) });
  assert.deepEqual(sorted(await get('/api/sync/presence?topic=room.1').then((r) => r.body)), sorted(answer.data));

  // Leave on unsubscribe and on close; not to the one who left.
  await b.request({ type: 'unsubscribe', topic: 'room.1' });
  assert.deepEqual((await a.next('leave')).data, { user_id: 'bob', client_id: b.hello.data.client_id });
  await b2.close();
  assert.equal((await a.next('leave')).data.client_id, b2.hello.data.client_id);
  await sleep(200);
  assert.deepEqual([...ofType(a, 'join'), ...ofType(a, 'leave')], []);  // exactly once each
  assert.deepEqual(ofType(b, 'leave'), []);
  assert.deepEqual(ofType(b, 'join'), []);
  assert.equal((await a.request({ type: 'presence', topic: 'room.1', id: 1 })).data.connections, 1);

  // Not tracked, or not allowed: a clear error.
  assert.equal((await a.request({ type: 'presence', topic: 'chat.1', id: 2 })).code, 'invalid_message');
  assert.equal((await get('/api/sync/presence?topic=chat.1')).status, 404);
  assert.equal((await get('/api/sync/presence?topic=a..b')).status, 400);
  assert.equal((await get('/api/sync/presence?topic=room.1', {})).status, 401);
  assert.equal((await a.request({ type: 'presence', topic: 'private.bob.inbox', id: 3 })).code, 'permission_denied');
  await Promise.all([a.close(), b.close()]);
});

test('presence: PRESENCE_MAX_MEMBERS caps the list, not the counts; a burst becomes a summary', async () => {
  const watcher = await connect('watcher');
  await watcher.request({ type: 'subscribe', topic: 'room.big' });
  const crowd = await Promise.all(Array.from({ length: 80 }, (_, i) => connect(`u${i % 40}`)));
  await Promise.all(crowd.map((c) => c.request({ type: 'subscribe', topic: 'room.big' })));
  // In the cluster pass each GET may reach another node, which learns the other's joins
  // in its next batch: wait for the answer, and check that answer.
  let body;
  await waitFor(async () => {
    body = (await get('/api/sync/presence?topic=room.big')).body;
    return body.connections === 81 && body.users === 41;
  });
  assert.equal(body.users, 41);
  assert.equal(body.members.length, 3);
  assert.equal(body.truncated, true);
  // 80 joins in a few batches: over 50 in one batch for a topic arrive as a summary.
  await sleep(300);
  const summaries = ofType(watcher, 'presence_summary');
  const joins = ofType(watcher, 'join');
  const summarised = summaries.reduce((n, s) => n + s.data.joins, 0);
  assert.equal(joins.length + summarised, 80);
  for (const s of summaries) assert.equal(s.topic, 'room.big');
  if (summaries.length) assert.equal(summaries.at(-1).data.connections <= 81, true);
  await Promise.all([watcher.close(), ...crowd.map((c) => c.close())]);
});

test('server API: subscribe, unsubscribe and disconnect every connection of a user', async () => {
  const tab1 = await connect('dora');
  const tab2 = await connect('dora');
  const other = await connect('eve');
  assert.deepEqual((await api('/api/sync/subscribe', { user_id: 'dora', topic: 'news.1' })).json,
    { status: 'ok', user_id: 'dora' });
  for (const tab of [tab1, tab2]) {
    assert.deepEqual(await tab.next('subscribe'), { type: 'subscribe', topic: 'news.1', server: true });
  }
  await api('/api/sync/publish', { topic: 'news.1', data: 'hello' });
  for (const tab of [tab1, tab2]) assert.equal((await tab.next('data')).data, 'hello');
  // A pattern too; a second subscribe to what it has changes nothing.
  await api('/api/sync/subscribe', { user_id: 'dora', topic: 'chat.*' });
  await api('/api/sync/subscribe', { user_id: 'dora', topic: 'news.1' });
  assert.equal((await tab1.next('subscribe')).topic, 'chat.*');
  await api('/api/sync/unsubscribe', { user_id: 'dora', topic: 'news.1' });
  for (const tab of [tab1, tab2]) {
    assert.deepEqual(await tab.next('unsubscribe'), { type: 'unsubscribe', topic: 'news.1', server: true });
  }
  await sleep(100);
  assert.deepEqual(ofType(tab1, 'subscribe'), []);

  // Topics: most subscribers first, a pattern filter, and patterns are not topics.
  await other.request({ type: 'subscribe', topic: 'news.2' });
  await tab1.request({ type: 'subscribe', topic: 'news.2' });
  await tab1.request({ type: 'subscribe', topic: 'news.3' });
  const topics = (await get('/api/sync/topics')).body;
  assert.deepEqual(topics.topics.slice(0, 2), [{ topic: 'news.2', subscribers: 2 }, { topic: 'news.3', subscribers: 1 }]);
  assert.equal(topics.truncated, false);
  assert.equal(topics.topics.some((t) => t.topic.includes('*')), false);
  assert.deepEqual((await get('/api/sync/topics?pattern=news.3')).body, { topics: [{ topic: 'news.3', subscribers: 1 }], truncated: false });
  assert.equal((await get('/api/sync/topics?pattern=news.>.x')).status, 400);
  assert.equal((await get('/api/sync/topics', {})).status, 401);

  // Disconnect: reconnect allowed (4010) or not (4011), with the reason.
  const closed = tab1.closed;
  await api('/api/sync/disconnect', { user_id: 'dora', reason: 'banned', reconnect: false });
  assert.deepEqual(await tab2.next('disconnect'), { type: 'disconnect', data: { reason: 'banned', reconnect: false } });
  assert.equal((await closed).code, 4011);
  const again = await connect('dora');
  await api('/api/sync/disconnect', { user_id: 'dora' });
  assert.deepEqual((await again.next('disconnect')).data, { reason: '', reconnect: true });
  assert.equal((await again.closed).code, 4010);
  assert.equal(other.ws.readyState, 1);  // another user: untouched
  await other.close();
});

test('server API: hostile bodies get a 400 with a code', async () => {
  const cases = [
    ['/api/sync/subscribe', 'not json', 'invalid_json'],
    ['/api/sync/subscribe', [], 'invalid_json'],
    ['/api/sync/subscribe', { topic: 'a' }, 'invalid_message'],
    ['/api/sync/subscribe', { user_id: '', topic: 'a' }, 'invalid_message'],
    ['/api/sync/subscribe', { user_id: 7, topic: 'a' }, 'invalid_message'],
    ['/api/sync/subscribe', { user_id: 'u' }, 'invalid_message'],
    ['/api/sync/subscribe', { user_id: 'u', topic: 'a..b' }, 'invalid_topic'],
    ['/api/sync/unsubscribe', { user_id: 'u', topic: 'a.>.b' }, 'invalid_topic'],
    ['/api/sync/subscribe', { user_id: 'x'.repeat(300), topic: 'a' }, 'invalid_message'],
    ['/api/sync/disconnect', { user_id: 'u', reconnect: 'no' }, 'invalid_message'],
    ['/api/sync/disconnect', { user_id: 'u', reason: 'r'.repeat(300) }, 'invalid_message'],
    ['/api/sync/disconnect', { user_id: 'u', reason: 5 }, 'invalid_message'],
  ];
  for (const [path, body, code] of cases) {
    const response = await fetch(`${server.http}${path}`, {
      method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal((await response.json()).code, code, JSON.stringify(body));
  }
  assert.equal((await postJson(`${server.http}/api/sync/disconnect`, { user_id: 'u' })).status, 401);
});
