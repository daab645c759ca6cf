// Shared JSON documents (DOCUMENT_TOPICS, docs/documents.md), standalone: snapshot then
// consecutive revisions, the three forms of change, compare-and-set, every error,
// catch-up after a resubscription, a contended counter, a SIGKILL during acknowledged
// changes, REST, permissions and hostile input. Each subscriber rebuilds the document
// with npm's fast-json-patch (RFC 6902) and json-merge-patch (RFC 7396), not with ours.
//
// Every node here is standalone (SQLite or memory), so the cluster pass of the suite
// skips this file: documents in a cluster (JetStream) are documents_cluster.test.js.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const jwt = require('jsonwebtoken');
const { BIN, CLUSTER, startServer, Client, postJson, waitFor } = require('./harness');
const { DocumentMirror, subscribed, getDocument, postDocument, incrementCounter } = require('./document_clients');

const skip = CLUSTER ? 'standalone documents; documents_cluster.test.js runs them in a cluster' : false;
const SANITIZED = process.env.NATSYNC_SANITIZED === '1';
const dataDirs = [];
const dataDir = () => { dataDirs.push(fs.mkdtempSync(path.join(os.tmpdir(), 'natsync-documents-'))); return dataDirs.at(-1); };
after(() => { for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true }); });
const documents = (extra = {}) => ({ DOCUMENT_TOPICS: 'board.>,counter.*', WS_MESSAGE_RATE: '0', DATA_DIR: dataDir(), ...extra });
test('snapshot, then every change in all three forms with consecutive revisions, seen identically by 50 subscribers', { skip }, async () => {
  const server = await startServer(documents(), { single: true });
  const writer = await Client.open(`${server.ws}?user_id=writer`);
  await writer.next('connect');
  assert.equal((await writer.request({ type: 'patch', topic: 'board.1', data: { title: 'plan', cards: [] } })).revision, 1);
  const subscribers = await Promise.all(Array.from({ length: 50 }, (_, i) => subscribed(server, `s${i}`, 'board.1')));
  for (const { ack, mirror } of subscribers) {
    assert.equal(ack.revision, 1);
    assert.match(ack.epoch, /^[0-9a-f]{12}$/);
    assert.deepEqual(mirror.data, { title: 'plan', cards: [] });
  }
  const changes = [];
  for (let i = 0; i < 30; i++) {
    if (i % 3 === 0) changes.push({ data: { title: `plan ${i}`, [`k${i}`]: i } });
    else if (i % 3 === 1) changes.push({ ops: [{ op: 'add', path: '/cards/-', value: { n: i } }, { op: 'test', path: '/cards/0/n', value: 1 }].slice(0, i === 1 ? 1 : 2) });
    else changes.push(i === 29 ? { data: { final: true, cards: [1, 2] }, replace: true } : { data: { [`k${i - 2}`]: null } });
  }
  for (const [i, change] of changes.entries()) {
    const ack = await writer.request({ type: 'patch', topic: 'board.1', ...change });
    assert.equal(ack.type, 'patch', JSON.stringify(ack));
    assert.equal(ack.revision, i + 2);
  }
  const stored = await getDocument(server, 'board.1');
  assert.equal(stored.json.revision, 31);
  assert.deepEqual(stored.json.data, { final: true, cards: [1, 2] });
  await waitFor(() => subscribers.every(({ mirror }) => mirror.revision === 31), 10000);
  const expected = Array.from({ length: 30 }, (_, i) => i + 2);
  for (const { mirror, client } of subscribers) {
    assert.deepEqual(mirror.revisions, expected);
    assert.equal(mirror.gaps, 0);
    assert.deepEqual(mirror.data, stored.json.data);
    client.terminate();
  }
  // The change arrives in the form it was written.
  const one = subscribers[0].client.seen.filter((m) => m.type === 'patch' && m.id === undefined);
  assert.deepEqual(one[1], { type: 'patch', topic: 'board.1', revision: 3, ops: changes[1].ops });
  assert.deepEqual(one[29], { type: 'patch', topic: 'board.1', revision: 31, data: { final: true, cards: [1, 2] }, replace: true });
  writer.terminate();
  await server.stopClean();
});

test('every refused change leaves the document unchanged and is not broadcast: conflict, failed patch, too large, malformed', { skip }, async () => {
  const server = await startServer(documents({ DOCUMENT_MAX_BYTES: '200', DURABLE_TOPICS: 'orders.>' }), { single: true });
  const { client: watcher, mirror } = await subscribed(server, 'watcher', 'board.x');
  const writer = await Client.open(`${server.ws}?user_id=writer`);
  await writer.next('connect');
  await writer.request({ type: 'patch', topic: 'board.x', data: { a: 1 } });
  const error = async (message) => {
    const reply = await writer.request({ topic: 'board.x', type: 'patch', ...message });
    assert.equal(reply.type, 'error', JSON.stringify(reply));
    return reply;
  };
  const conflict = await error({ data: { a: 2 }, if_revision: 0 });
  assert.deepEqual([conflict.code, conflict.revision], ['revision_conflict', 1]);
  const failed = await error({ ops: [{ op: 'replace', path: '/a', value: 5 }, { op: 'test', path: '/a', value: 1 }] });
  assert.deepEqual([failed.code, failed.index], ['patch_failed', 1]);
  assert.equal((await error({ ops: [{ op: 'remove', path: '/missing' }] })).code, 'patch_failed');
  assert.equal((await error({ data: { big: 'x'.repeat(300) } })).code, 'document_too_large');
  for (const bad of [{}, { data: 1, ops: [] }, { ops: {} }, { ops: 'add' }, { ops: [7] }, { ops: [{ path: '/a' }] },
    { ops: [{ op: 'add', path: '/b' }] }, { ops: [{ op: 'jump', path: '/a' }] }, { ops: [], replace: true },
    { data: 1, replace: 'yes' }, { data: 1, if_revision: -1 }, { data: 1, if_revision: '1' }, { data: 1, if_revision: 1.5 }]) {
    assert.equal((await error(bad)).code, 'invalid_message', JSON.stringify(bad));
  }
  assert.equal((await writer.request({ type: 'sync', topic: 'board.x', data: 1 })).code, 'invalid_message');
  assert.equal((await writer.request({ type: 'patch', topic: 'news', data: 1 })).code, 'invalid_message');
  assert.equal((await writer.request({ type: 'patch', topic: 'orders.1', data: 1 })).code, 'invalid_message');
  assert.equal((await writer.request({ type: 'patch', topic: 'bad..topic', data: 1 })).code, 'invalid_topic');
  assert.equal((await writer.request({ type: 'subscribe', topic: 'board.x', since: { revision: 1, offset: 1 } })).code, 'invalid_message');
  // An empty patch still takes a revision; the watcher saw exactly the two accepted changes.
  assert.equal((await writer.request({ type: 'patch', topic: 'board.x', ops: [] })).revision, 2);
  await waitFor(() => mirror.revision === 2);
  assert.deepEqual(mirror.revisions, [1, 2]);
  assert.deepEqual((await getDocument(server, 'board.x')).json.data, { a: 1 });
  watcher.terminate();
  writer.terminate();
  await server.stopClean();
});

test('a resubscription with since gets the changes it missed (recovered) or a fresh snapshot, never one twice', { skip }, async () => {
  const server = await startServer(documents({ HISTORY_SIZE: '5' }), { single: true });
  const first = await subscribed(server, 'away', 'board.r');
  for (let i = 1; i <= 3; i++) await postDocument(server, { topic: 'board.r', data: { n: i } });
  await waitFor(() => first.mirror.revision === 3);
  const since = { revision: 3, epoch: first.ack.epoch };
  const kept = structuredClone(first.mirror.data);
  first.client.terminate();
  for (let i = 4; i <= 6; i++) await postDocument(server, { topic: 'board.r', ops: [{ op: 'add', path: `/k${i}`, value: i }] });
  // Recovered: exactly 4, 5, 6, no snapshot.
  const back = await subscribed(server, 'back', 'board.r', { ...since, data: kept });
  assert.equal(back.ack.recovered, true);
  assert.equal(back.ack.revision, 6);
  await waitFor(() => back.mirror.revision === 6);
  assert.deepEqual(back.mirror.revisions, [4, 5, 6]);
  assert.equal(back.mirror.snapshots, undefined);
  assert.deepEqual(back.mirror.data, (await getDocument(server, 'board.r')).json.data);
  // Current: recovered with nothing to send.
  const current = await back.client.request({ type: 'subscribe', topic: 'board.r', since: { revision: 6, epoch: since.epoch } });
  assert.equal(current.recovered, true);
  // Too far behind (HISTORY_SIZE 5), another epoch, or ahead: recovered:false and a snapshot.
  for (let i = 7; i <= 12; i++) await postDocument(server, { topic: 'board.r', data: { n: i } });
  for (const stale of [{ revision: 3, epoch: since.epoch }, { revision: 12, epoch: 'another' }, { revision: 99, epoch: since.epoch }]) {
    const late = await subscribed(server, 'late', 'board.r', stale);
    assert.equal(late.ack.recovered, false, JSON.stringify(stale));
    assert.equal(late.mirror.snapshots, 1);
    assert.equal(late.mirror.revision, 12);
    assert.deepEqual(late.mirror.data, (await getDocument(server, 'board.r')).json.data);
    late.client.terminate();
  }
  back.client.terminate();
  await server.stopClean();
});

test('20 clients x 50 read-modify-write increments with if_revision and retry: the counter is exactly 1,000 everywhere', { skip, timeout: 120000 }, async () => {
  const server = await startServer(documents({ WORKER_THREADS: '2' }), { single: true });
  const CLIENTS = 20;
  const INCREMENTS = SANITIZED ? 20 : 50;
  const writers = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => subscribed(server, `w${i}`, 'counter.c')));
  const watchers = await Promise.all(Array.from({ length: 5 }, (_, i) => subscribed(server, `r${i}`, 'counter.c')));
  const conflicts = await incrementCounter(writers, 'counter.c', INCREMENTS);
  const total = CLIENTS * INCREMENTS;
  const stored = await getDocument(server, 'counter.c');
  assert.deepEqual([stored.json.data.value, stored.json.revision], [total, total]);
  for (const { mirror, client } of [...writers, ...watchers]) {
    await waitFor(() => mirror.revision === total, 10000);
    assert.deepEqual(mirror.data, stored.json.data);
    assert.equal(mirror.gaps, 0);
    client.terminate();
  }
  console.log(`# counter: ${total} increments by ${CLIENTS} clients, ${conflicts} conflicts retried`);
  await server.stopClean();
});

test('SIGKILL during a stream of acknowledged changes: after a restart on the same DATA_DIR every one is there, same epoch', { skip, timeout: 60000 }, async () => {
  const env = documents();
  let server = await startServer(env, { single: true });
  const before = (await getDocument(server, 'board.crash')).json.epoch;
  // JSON Patch cannot add members to a document that does not exist (null): make it one.
  assert.equal((await postDocument(server, { topic: 'board.crash', data: {} })).status, 200);
  let acknowledged = 0;
  let stop = false;
  const writers = [0, 1, 2, 3].map(async (w) => {
    while (!stop) {
      const reply = await postDocument(server, { topic: 'board.crash', ops: [{ op: 'add', path: `/w${w}`, value: Date.now() }] }).catch(() => null);
      if (reply?.status === 200) acknowledged = Math.max(acknowledged, reply.json.revision);
      else break;
    }
  });
  await waitFor(() => acknowledged >= 200, 20000, 5);
  await server.stop('SIGKILL');
  stop = true;
  await Promise.all(writers);
  server = await startServer(env, { single: true });
  const after = await getDocument(server, 'board.crash');
  assert.equal(after.json.epoch, before);
  assert.ok(after.json.revision >= acknowledged, `revision ${after.json.revision} < acknowledged ${acknowledged}`);
  assert.ok(after.json.revision <= acknowledged + 4, 'no more than the changes in flight at the kill');
  assert.deepEqual(Object.keys(after.json.data).sort(), ['w0', 'w1', 'w2', 'w3']);
  console.log(`# crash: ${acknowledged} acknowledged before SIGKILL, revision ${after.json.revision} after restart`);
  await server.stopClean();
  // DOCUMENT_STORE=memory: documented as lost on restart, with a new epoch.
  const memory = documents({ DOCUMENT_STORE: 'memory' });
  server = await startServer(memory, { single: true });
  await postDocument(server, { topic: 'board.m', data: 1 });
  const memoryEpoch = (await getDocument(server, 'board.m')).json.epoch;
  await server.stop('SIGKILL');
  server = await startServer(memory, { single: true });
  const fresh = await getDocument(server, 'board.m');
  assert.deepEqual([fresh.json.data, fresh.json.revision], [null, 0]);
  assert.notEqual(fresh.json.epoch, memoryEpoch);
  await server.stopClean();
});

test('REST: GET and POST /api/sync/document with their statuses, and the API key', { skip }, async () => {
  const server = await startServer(documents({ SYNC_API_KEY: 'k', DOCUMENT_MAX_BYTES: '100' }), { single: true });
  const key = { 'X-API-Key': 'k' };
  const get = async (topic) => {
    const response = await fetch(`${server.http}/api/sync/document?topic=${topic}`, { headers: key });
    return { status: response.status, json: await response.json() };
  };
  const none = await get('board.new');
  assert.equal(none.status, 200);
  assert.deepEqual([none.json.topic, none.json.data, none.json.revision], ['board.new', null, 0]);
  assert.equal((await postDocument(server, { topic: 'board.new', data: 1 })).status, 401);
  assert.equal((await postDocument(server, { topic: 'board.new', data: 1 }, { 'X-API-Key': 'wrong' })).status, 403);
  assert.equal((await fetch(`${server.http}/api/sync/document?topic=board.new`)).status, 401);
  const ok = await postDocument(server, { topic: 'board.new', data: { a: [1] } }, key);
  assert.deepEqual([ok.status, ok.json], [200, { status: 'ok', topic: 'board.new', revision: 1 }]);
  const conflict = await postDocument(server, { topic: 'board.new', data: {}, if_revision: 0 }, key);
  assert.deepEqual([conflict.status, conflict.json.code, conflict.json.revision], [409, 'revision_conflict', 1]);
  const failed = await postDocument(server, { topic: 'board.new', ops: [{ op: 'test', path: '/a/0', value: 2 }] }, key);
  assert.deepEqual([failed.status, failed.json.code, failed.json.index], [422, 'patch_failed', 0]);
  const large = await postDocument(server, { topic: 'board.new', data: { b: 'x'.repeat(200) } }, key);
  assert.deepEqual([large.status, large.json.code], [413, 'document_too_large']);
  for (const bad of ['not json', '[]', '{"data":1}', '{"topic":"board.new"}', '{"topic":"board.new","data":1,"ops":[]}', '{"topic":7,"data":1}']) {
    assert.equal((await postDocument(server, bad, key)).status, 400, bad);
  }
  assert.equal((await postDocument(server, { topic: 'news', data: 1 }, key)).status, 404);
  assert.equal((await get('news')).status, 404);
  assert.equal((await get('bad..topic')).status, 400);
  const publishIntoDocument = await postJson(`${server.http}/api/sync/publish`, { topic: 'board.new', data: 1 }, key);
  assert.equal(publishIntoDocument.status, 400);
  assert.equal((await fetch(`${server.http}/api/sync/document`, { method: 'PUT', headers: key })).headers.get('allow'), 'GET, POST');
  const replaced = await postDocument(server, { topic: 'board.new', data: [true], replace: true, if_revision: 1 }, key);
  assert.equal(replaced.json.revision, 2);
  assert.deepEqual((await get('board.new')).json.data, [true]);
  const status = await (await fetch(`${server.http}/api/sync/status`)).json();
  assert.equal(status.documents.loaded, 1);
  await server.stopClean();
});

test('permissions: subscribe patterns decide who reads a document, publish patterns who changes it', { skip }, async () => {
  const SECRET = 'documents-secret-0123456789abcdef';
  const server = await startServer(documents({ JWT_SECRET: SECRET }), { single: true });
  const open = async (claims) => {
    const token = jwt.sign({ exp: Math.floor(Date.now() / 1000) + 600, ...claims }, SECRET, { algorithm: 'HS256' });
    const client = await Client.open(`${server.ws}?token=${token}`);
    await client.next('connect');
    return client;
  };
  const reader = await open({ sub: 'reader', topics: { subscribe: ['board.*'], publish: [] } });
  const editor = await open({ sub: 'editor', topics: { subscribe: [], publish: ['board.1'] } });
  assert.equal((await reader.request({ type: 'subscribe', topic: 'board.1' })).type, 'subscribe');
  assert.equal((await reader.request({ type: 'patch', topic: 'board.1', data: 1 })).code, 'forbidden');
  assert.equal((await editor.request({ type: 'subscribe', topic: 'board.1' })).code, 'permission_denied');
  assert.equal((await editor.request({ type: 'patch', topic: 'board.2', data: 1 })).code, 'forbidden');
  assert.equal((await editor.request({ type: 'patch', topic: 'board.1', data: { by: 'editor' } })).revision, 1);
  assert.deepEqual((await reader.next((m) => m.type === 'patch')).data, { by: 'editor' });
  reader.terminate();
  editor.terminate();
  await server.stopClean();
});

test('hostile input: 100,000-deep nesting, oversized changes and bodies get clear errors; the server goes on', { skip }, async () => {
  const server = await startServer(documents({ WS_MAX_MESSAGE_SIZE: String(1 << 20), HTTP_MAX_BODY_SIZE: String(1 << 20) }), { single: true });
  const client = await Client.open(`${server.ws}?user_id=hostile`);
  await client.next('connect');
  const deep = '['.repeat(100000) + ']'.repeat(100000);
  client.send(`{"type":"patch","topic":"board.h","id":1,"data":${deep}}`);
  assert.equal((await client.next((m) => m.type === 'error')).code, 'invalid_json');
  const deepRest = await postDocument(server, `{"topic":"board.h","data":${deep}}`);
  assert.equal(deepRest.status, 400);
  // Deeper than documents may nest (100), within what the parser takes.
  const nested = '['.repeat(200) + ']'.repeat(200);
  assert.equal((await client.request({ type: 'patch', topic: 'board.h', data: JSON.parse(nested), replace: true })).code, 'invalid_message');
  const ops = Array.from({ length: 5000 }, (_, i) => ({ op: 'add', path: `/k${i}`, value: 'x'.repeat(100) }));
  assert.equal((await client.request({ type: 'patch', topic: 'board.h', data: {}, replace: true })).revision, 1);
  assert.equal((await client.request({ type: 'patch', topic: 'board.h', ops })).code, 'document_too_large');
  for (const raw of ['{"type":"patch","topic":"board.h","id":2,"data":', '{"type":"patch","topic":"board.h","id":3,"data":1,"ops":[]}', '{"type":"patch","topic":"board.h","id":4,"ops":null}']) {
    client.send(raw);
    assert.match((await client.next((m) => m.type === 'error')).code, /^invalid_(json|message)$/);
  }
  assert.equal((await client.request({ type: 'patch', topic: 'board.h', data: { still: 'here' } })).revision, 2);
  client.terminate();
  await server.stopClean();
});

test('DOCUMENT_* and DATA_DIR are checked at start: a bad value or an unusable directory exits 2 with one line', { skip }, () => {
  const run = (env) => spawnSync(BIN, [], { env: { ...process.env, LISTEN_ADDR: '127.0.0.1:0', DOCUMENT_TOPICS: 'board.>', ...env }, encoding: 'utf8', timeout: 10000 });
  const file = path.join(dataDir(), 'a-file');
  fs.writeFileSync(file, 'x');
  const notDatabase = dataDir();
  fs.writeFileSync(path.join(notDatabase, 'documents.db'), 'this is not an SQLite database, not even close to one'.repeat(20));
  for (const [env, pattern] of [
    [{ DOCUMENT_TOPICS: 'board..x' }, /DOCUMENT_TOPICS/],
    [{ DOCUMENT_STORE: 'disk' }, /DOCUMENT_STORE/],
    [{ DOCUMENT_MAX_BYTES: 'lots' }, /DOCUMENT_MAX_BYTES/],
    [{ DATA_DIR: path.join(file, 'below') }, /DATA_DIR/],
    [{ DATA_DIR: notDatabase }, /DATA_DIR/],
  ]) {
    const result = run(env);
    assert.equal(result.status, 2, `${JSON.stringify(env)}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  }
});
