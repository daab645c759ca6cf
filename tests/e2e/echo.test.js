// The opt-in echo endpoint (WS_ECHO_PATH), a testing aid for conformance suites, and
// the ordering the shared transport guarantees on both endpoints.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const jwt = require('jsonwebtoken');
const { startServer, rawExchange, Client } = require('./harness');
const { RawClient, OP, encodeFrame } = require('../conformance/client');

const echoUrl = (server, query = '') => `ws://127.0.0.1:${server.port}/ws/echo${query}`;

// The harness's client, for its raw `ws` (echoes are not JSON).
const openWs = async (url) => (await Client.open(url)).ws;

const nextMessage = (ws) => new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data, isBinary })));

test('off by default: /ws/echo is not found', async () => {
  const server = await startServer({}, { single: true });
  const reply = await rawExchange(server.port, 'GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  assert.match(reply, /^HTTP\/1\.1 404 /);
  await server.stopClean();
});

test('echoes text and binary messages, which do not count as clients', async () => {
  const server = await startServer({ WS_ECHO_PATH: '/ws/echo' }, { single: true });
  const ws = await openWs(echoUrl(server));
  ws.send('héllo');
  const textEcho = await nextMessage(ws);
  assert.equal(textEcho.isBinary, false);
  assert.equal(String(textEcho.data), 'héllo');
  const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe]);
  ws.send(bytes);
  const binaryEcho = await nextMessage(ws);
  assert.equal(binaryEcho.isBinary, true);
  assert.deepEqual(Buffer.from(binaryEcho.data), bytes);
  const status = await (await fetch(`${server.http}/api/sync/status`)).json();
  assert.equal(status.connections, 0);
  ws.close();
  await server.stopClean();
});

test('in JWT mode the echo endpoint needs a token on the upgrade', async () => {
  const secret = 'echo-test-secret-0123456789abcdef';
  const server = await startServer({ WS_ECHO_PATH: '/ws/echo', JWT_SECRET: secret }, { single: true });
  await assert.rejects(openWs(echoUrl(server)), (err) => err.status === 401);
  const token = jwt.sign({ sub: 'tester', exp: Math.floor(Date.now() / 1000) + 600 }, secret);
  const ws = await openWs(echoUrl(server, `?token=${token}`));
  ws.send('ok');
  assert.equal(String((await nextMessage(ws)).data), 'ok');
  ws.close();
  await server.stopClean();
});

test('a reply queued before a protocol error still arrives, before the close frame', async () => {
  const server = await startServer({}, { single: true });
  const client = await RawClient.connect(server.port, '/ws/sync?user_id=order');
  await client.until(() => client.events.length === 1, 2000);  // connect
  // A subscribe, then at once a frame with a reserved bit set, in one write.
  await client.write(Buffer.concat([
    encodeFrame({ opcode: OP.text, payload: Buffer.from('{"type":"subscribe","topic":"t","id":1}') }),
    encodeFrame({ opcode: OP.text, payload: Buffer.from('x'), rsv: 4 }),
  ]));
  await client.until(() => client.ended, 3000);
  assert.deepEqual(JSON.parse(client.events[1].data), { type: 'subscribe', topic: 't', id: 1 });
  assert.equal(client.close?.code, 1002);
  client.destroy();
  await server.stopClean();
});

test('a first frame sent together with the upgrade request (not waiting for the 101) is not lost', async () => {
  const net = require('node:net');
  const server = await startServer({}, { single: true });
  const frame = encodeFrame({ opcode: OP.text, payload: Buffer.from('{"type":"subscribe","topic":"eager","id":9}') });
  const received = await new Promise((resolve) => {
    const socket = net.connect(server.port, '127.0.0.1', () => socket.write(Buffer.concat([Buffer.from(
      'GET /ws/sync?user_id=eager HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'), frame])));
    let text = '';
    socket.on('data', (d) => { text += d.toString('latin1'); if (text.includes('"id":9')) { socket.destroy(); resolve(text); } });
    setTimeout(() => { socket.destroy(); resolve(text); }, 3000);
  });
  assert.match(received, /\{"type":"subscribe","topic":"eager","id":9\}/);
  await server.stopClean();
});
