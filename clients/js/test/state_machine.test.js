// The client's state machine without a server: a scripted WebSocket stands in for the
// connection, so the cases a real server never produces on purpose (a revision gap, a
// close code that must stop the client, auth refused twice) are driven directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '../src/index.js';

// Records what the client sends; the test plays the server with `receive` and `close`.
class ScriptedSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = 1;
    this.sent = [];
    ScriptedSocket.all.push(this);
    queueMicrotask(() => this.receive({ type: 'connect', data: { client_id: String(ScriptedSocket.all.length), user_id: '' } }));
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.readyState = 3; }
  receive(msg) { this.onmessage?.({ data: JSON.stringify(msg) }); }
  serverClose(code, reason = '') { this.readyState = 3; this.onclose?.({ code, reason }); }
  last(type) { return this.sent.filter((m) => m.type === type).at(-1); }
}
const tick = () => new Promise((r) => setTimeout(r, 0));
const scripted = (options = {}) => {
  ScriptedSocket.all = [];
  return createClient('ws://scripted/ws/sync', { WebSocket: ScriptedSocket, minReconnectDelay: 1, maxReconnectDelay: 5, ...options });
};

test('a revision gap is repaired by resubscribing with the last revision, not ignored', async () => {
  const client = scripted();
  const doc = client.document('b.x');
  await tick();
  const ws = ScriptedSocket.all[0];
  const sub = ws.last('subscribe');
  ws.receive({ type: 'subscribe', topic: 'b.x', id: sub.id, revision: 1, epoch: 'e' });
  ws.receive({ type: 'snapshot', topic: 'b.x', data: { n: 1 }, revision: 1, epoch: 'e' });
  await doc.ready;
  ws.receive({ type: 'patch', topic: 'b.x', revision: 2, data: { n: 2 } });
  ws.receive({ type: 'patch', topic: 'b.x', revision: 4, data: { n: 4 } });  // 3 is missing
  const again = ws.last('subscribe');
  assert.notEqual(again.id, sub.id);
  assert.deepEqual(again.since, { revision: 2, epoch: 'e' });
  assert.equal(doc.synced, false);
  ws.receive({ type: 'subscribe', topic: 'b.x', id: again.id, revision: 4, epoch: 'e', recovered: true });
  ws.receive({ type: 'patch', topic: 'b.x', revision: 3, data: { n: 3 } });
  ws.receive({ type: 'patch', topic: 'b.x', revision: 4, data: { n: 4 } });
  assert.deepEqual([doc.revision, doc.value, doc.synced], [4, { n: 4 }, true]);
  client.close();
});

test('close codes that cannot be helped stop the client; the others reconnect', async () => {
  for (const [code, expected] of [[1002, 'closed'], [1009, 'closed'], [4030, 'closed'], [1006, 'connecting'], [4008, 'connecting'], [1001, 'connecting']]) {
    const client = scripted();
    client.on('error', () => {});
    await tick();
    ScriptedSocket.all[0].serverClose(code);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(client.state === 'connected' ? 'connecting' : client.state, expected, `close ${code}`);
    client.close();
  }
  const told = scripted();
  told.on('error', () => {});
  await tick();
  ScriptedSocket.all[0].receive({ type: 'disconnect', data: { reason: 'banned', reconnect: false } });
  ScriptedSocket.all[0].serverClose(1001);
  assert.equal(told.state, 'closed', 'disconnect with reconnect:false stops');
});

test('auth refused: one more token from getToken, then the client stops with the error', async () => {
  let issued = 0;
  const client = scripted({ getToken: async () => `token-${++issued}` });
  const errors = [];
  client.on('error', (e) => errors.push(e.code));
  await new Promise((r) => setTimeout(r, 5));
  const ws = ScriptedSocket.all[0];
  const first = ws.last('auth');
  assert.equal(first.token, 'token-1');
  ws.receive({ type: 'error', code: 'auth_failed', error: 'bad signature', id: first.id });
  await new Promise((r) => setTimeout(r, 5));
  const second = ws.last('auth');
  assert.equal(second.token, 'token-2');
  ws.receive({ type: 'error', code: 'token_expired', error: 'expired', id: second.id });
  await tick();
  assert.equal(client.state, 'closed');
  assert.deepEqual(errors, ['token_expired']);
});
