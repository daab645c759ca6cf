// permessage-deflate (WS_COMPRESSION): negotiated with a real client (npm ws), data
// compressed on the wire both ways, and off unless asked for.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, Client, postJson } = require('./harness');

test('off by default: no extension is negotiated', async () => {
  const server = await startServer({}, { single: true });
  const client = await Client.open(`${server.ws}?user_id=plain`, { perMessageDeflate: true });
  assert.equal(client.ws.extensions, '');
  await client.close();
  await server.stopClean();
});

test('WS_COMPRESSION=on: negotiated, publications arrive compressed and intact, client messages are inflated', async () => {
  const server = await startServer({ WS_COMPRESSION: 'on', WS_ECHO_PATH: '/ws/echo' }, { single: true });
  const client = await Client.open(`${server.ws}?user_id=deflate`, { perMessageDeflate: true });
  assert.match(client.ws.extensions, /permessage-deflate/);
  await client.next('connect');
  await client.request({ type: 'subscribe', topic: 'big' });
  const data = { rows: Array.from({ length: 500 }, (_, i) => ({ id: i, name: `row number ${i}`, status: 'active' })) };
  const before = client.ws._socket.bytesRead;
  for (let i = 0; i < 5; i++) assert.equal((await postJson(`${server.http}/api/sync/publish`, { topic: 'big', data })).status, 200);
  for (let i = 0; i < 5; i++) assert.deepEqual((await client.next('data')).data, data);
  const wire = client.ws._socket.bytesRead - before;
  const plain = 5 * JSON.stringify({ type: 'data', topic: 'big', data }).length;
  assert.ok(wire < plain / 4, `${wire} bytes on the wire for ${plain} bytes of messages`);
  // Client to server: a compressed sync is inflated, validated and delivered.
  const peer = await Client.open(`${server.ws}?user_id=peer`, { perMessageDeflate: true });
  await peer.request({ type: 'subscribe', topic: 'big' });
  client.send({ type: 'sync', topic: 'big', data });
  assert.deepEqual((await peer.next('data')).data, data);
  await Promise.all([client.close(), peer.close()]);
  await server.stopClean();
});

test('a compressed message that inflates past WS_MAX_MESSAGE_SIZE is closed with 1009', async () => {
  const server = await startServer({ WS_COMPRESSION: 'on', WS_MAX_MESSAGE_SIZE: '65536' }, { single: true });
  const client = await Client.open(`${server.ws}?user_id=bomb`, { perMessageDeflate: true });
  await client.next('connect');
  client.ws.send(' '.repeat(4 * 1024 * 1024), { compress: true });  // ~4 KB on the wire
  assert.equal((await client.closed).code, 1009);
  await server.stopClean();
});
