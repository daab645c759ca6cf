// Every call of the public API against the real natsync binary, over npm `ws`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, closeAll, once, publishRest, waitFor } from './helpers.js';

const server = await startServer({ DURABLE_TOPICS: 'd.>', DOCUMENT_TOPICS: 'b.>', DOCUMENT_STORE: 'memory' });
after(async () => { closeAll(); await server.stop(); });

test('connects, reports its states, subscribes, publishes to the others, receives user messages', async () => {
  const states = [];
  const alice = client(`${server.ws}?user_id=alice`);
  alice.on('state', ({ from, to }) => states.push(`${from}>${to}`));
  const connected = await once(alice, 'connected');
  assert.equal(connected.userId, 'alice');
  assert.ok(connected.clientId);
  assert.equal(alice.state, 'connected');
  assert.deepEqual(states, ['connecting>connected']);

  const bob = client(`${server.ws}?user_id=bob`);
  const got = [];
  const sub = bob.subscribe('chat.room', { onData: (data, meta) => got.push({ data, meta }) });
  assert.equal(await sub.ready, sub);
  assert.throws(() => bob.subscribe('chat.room'), { code: 'already_subscribed' });

  assert.deepEqual(await alice.publish('chat.room', { text: 'hi' }), {});
  await waitFor(() => got.length === 1);
  assert.deepEqual(got[0], { data: { text: 'hi' }, meta: { topic: 'chat.room', offset: undefined, epoch: undefined } });

  const direct = once(bob, 'message');
  await publishRest(server, undefined, { note: 1 }, { user_id: 'bob', topic: undefined });
  assert.deepEqual(await direct, { note: 1 });

  const removed = alice.on('state', () => assert.fail('listener was removed'));
  removed();
  sub.unsubscribe();
  await alice.publish('chat.room', { text: 'after' });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(got.length, 1, 'nothing after unsubscribe');
});

test('durable topics: offsets and epoch reach onData; a publish is acked with its offset, once per idempotency key', async () => {
  const reader = client(`${server.ws}?user_id=r`);
  const writer = client(`${server.ws}?user_id=w`);
  const got = [];
  await reader.subscribe('d.orders', { onData: (data, meta) => got.push({ data, ...meta }) }).ready;
  const first = await writer.publish('d.orders', 'one', { idempotencyKey: 'order-1' });
  assert.equal(first.offset, 1);
  assert.ok(first.epoch);
  const again = await writer.publish('d.orders', 'one', { idempotencyKey: 'order-1' });
  assert.deepEqual(again, { ...first, duplicate: true });
  await waitFor(() => got.length === 1);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(got, [{ data: 'one', topic: 'd.orders', offset: 1, epoch: first.epoch }]);
});

test('errors reject with the server code; a refused subscribe rejects ready', async () => {
  const c = client(`${server.ws}?user_id=e`);
  await once(c, 'connected');
  await assert.rejects(c.publish('bad topic', 1), { code: 'invalid_topic' });
  await assert.rejects(c.subscribe('a..b').ready, { code: 'invalid_topic' });
  await assert.rejects(c.publish('private.someone', 1), { code: 'permission_denied' });
});

test('documents: snapshot, merge patch, JSON Patch, replace, if_revision conflicts; every copy equals the server', async () => {
  const a = client(`${server.ws}?user_id=a`);
  const b = client(`${server.ws}?user_id=b`);
  const changesA = [];
  const docA = a.document('b.board', { onChange: (value, meta) => changesA.push({ value, ...meta }) });
  const docB = b.document('b.board');
  await Promise.all([docA.ready, docB.ready]);
  assert.equal(docA.revision, 0);
  assert.equal(docA.value, null);

  assert.deepEqual(await docA.patch({ title: 'Q3', cards: [] }), { revision: 1 });
  assert.deepEqual(await docB.applyOps([{ op: 'add', path: '/cards/-', value: { n: 1 } }]), { revision: 2 });
  await docA.applyOps([{ op: 'add', path: '/cards/0', value: { n: 0 } }, { op: 'move', from: '/cards/1', path: '/cards/0' }]);
  await assert.rejects(docB.patch({ title: 'late' }, { ifRevision: 1 }), (err) => err.code === 'revision_conflict' && err.revision === 3);
  await assert.rejects(docB.applyOps([{ op: 'test', path: '/title', value: 'no' }]), { code: 'patch_failed' });
  await docB.replace({ title: 'new', cards: [{ n: 9 }], tags: { x: 1 } }, { ifRevision: 3 });
  await docA.patch({ tags: { x: null, y: 2 } });
  const expected = { title: 'new', cards: [{ n: 9 }], tags: { y: 2 } };
  await waitFor(() => docA.revision === 5 && docB.revision === 5);
  assert.deepEqual(docA.value, expected);
  assert.deepEqual(docB.value, expected);
  const served = await (await fetch(`${server.http}/api/sync/document?topic=b.board`)).json();
  assert.deepEqual(served.data, expected);
  assert.deepEqual(changesA.map((c) => [c.revision, c.local]), [[0, false], [1, true], [2, false], [3, true], [4, false], [5, true]]);
});

test('close() ends everything: state closed, pending promises reject with closed, no reconnect', async () => {
  const c = client(`${server.ws}?user_id=z`);
  const sub = c.subscribe('never.acked');
  c.close();
  assert.equal(c.state, 'closed');
  await assert.rejects(sub.ready, { code: 'closed' });
  await assert.rejects(c.publish('t', 1), { code: 'closed' });
  assert.throws(() => c.subscribe('x'), { code: 'closed' });
});
