// Presence, wildcard subscriptions and the server API through natsync-client, against
// the real binary (the cluster-wide behaviour is tested in tests/e2e/presence_cluster).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, closeAll, once, publishRest, postJson, sleep, waitFor } from './helpers.js';

const server = await startServer({ PRESENCE_TOPICS: 'room.*', DURABLE_TOPICS: 'd.>' });
after(async () => { closeAll(); await server.stop(); });

test('presence(): the members; sub.on(join/leave) for the others', async () => {
  const ann = client(`${server.ws}?user_id=ann`);
  const annEvents = [];
  const room = ann.subscribe('room.1');
  room.on('join', (e) => annEvents.push(['join', e.userId, e.clientId]));
  room.on('leave', (e) => annEvents.push(['leave', e.userId, e.clientId]));
  await room.ready;
  await sleep(100);
  const ben = client(`${server.ws}?user_id=ben`);
  const { clientId } = await once(ben, 'connected');
  await ben.subscribe('room.1').ready;
  await waitFor(() => annEvents.length === 1);
  assert.deepEqual(annEvents[0], ['join', 'ben', clientId]);
  const presence = await ann.presence('room.1');
  assert.equal(presence.connections, 2);
  assert.equal(presence.users, 2);
  assert.deepEqual(presence.members.map((m) => m.user_id).sort(), ['ann', 'ben']);
  await assert.rejects(ann.presence('other.topic'), { code: 'invalid_message' });
  ben.close();
  await waitFor(() => annEvents.length === 2);
  assert.deepEqual(annEvents[1], ['leave', 'ben', clientId]);
});

test('a wildcard subscription: onData gets the concrete topic, once, even with an overlapping subscription', async () => {
  const reader = client(`${server.ws}?user_id=reader`);
  const viaPattern = [];
  const viaTopic = [];
  const pattern = reader.subscribe('chat.*', { onData: (data, meta) => viaPattern.push([meta.topic, data]) });
  const exact = reader.subscribe('chat.a', { onData: (data, meta) => viaTopic.push([meta.topic, data]) });
  assert.equal(pattern.pattern, true);
  await Promise.all([pattern.ready, exact.ready]);
  await publishRest(server, 'chat.a', 1);
  await publishRest(server, 'chat.b', 2);
  await publishRest(server, 'd.x', 3);  // matches no subscription
  await waitFor(() => viaPattern.length === 2);
  await sleep(100);
  assert.deepEqual(viaPattern, [['chat.a', 1], ['chat.b', 2]]);
  assert.deepEqual(viaTopic, [['chat.a', 1]]);
  // A pattern over a durable topic: live messages, nothing recovered, no `since`.
  const durable = reader.subscribe('d.*', { onData: (data, meta) => viaPattern.push([meta.topic, data, meta.offset]) });
  await durable.ready;
  await publishRest(server, 'd.y', 4);
  await waitFor(() => viaPattern.length === 3);
  assert.deepEqual(viaPattern[2], ['d.y', 4, 1]);
  assert.equal(durable.position, null);
});

test('server API: subscriptions appear as events; disconnect with reconnect:false stops the client', async () => {
  const dora = client(`${server.ws}?user_id=dora`);
  await once(dora, 'connected');
  const got = [];
  const added = once(dora, 'serverSubscribe');
  await postJson(`${server.http}/api/sync/subscribe`, { user_id: 'dora', topic: 'news.1' });
  const { topic, subscription } = await added;
  assert.equal(topic, 'news.1');
  assert.equal(subscription.server, true);
  assert.equal(subscription.state, 'subscribed');
  subscription.onData = (data) => got.push(data);
  await publishRest(server, 'news.1', 'hello');
  await waitFor(() => got.length === 1);
  const removed = once(dora, 'serverUnsubscribe');
  await postJson(`${server.http}/api/sync/unsubscribe`, { user_id: 'dora', topic: 'news.1' });
  assert.deepEqual(await removed, { topic: 'news.1' });
  assert.equal(subscription.state, 'unsubscribed');

  const disconnected = once(dora, 'disconnected');
  const failed = once(dora, 'error');
  await postJson(`${server.http}/api/sync/disconnect`, { user_id: 'dora', reason: 'banned', reconnect: false });
  const info = await disconnected;
  assert.equal(info.code, 4011);
  assert.equal(info.reason, 'banned');
  assert.equal(info.reconnect, false);
  assert.equal((await failed).code, 'disconnected');
  assert.equal(dora.state, 'closed');

  // reconnect:true (the default): it comes back by itself.
  const eve = client(`${server.ws}?user_id=eve`);
  await once(eve, 'connected');
  const back = once(eve, 'connected');
  await postJson(`${server.http}/api/sync/disconnect`, { user_id: 'eve', reason: 'rebalance' });
  await back;
  assert.equal(eve.state, 'connected');
});
