// Hostile and malformed input: every case gets a clear error or a defined close
// code, the server keeps serving, and nothing else is disturbed.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, Client, postJson, rawExchange, getStatus } = require('./harness');

let server;
before(async () => { server = await startServer({ WS_MAX_MESSAGE_SIZE: '4096', HTTP_MAX_BODY_SIZE: '8192' }); });
after(async () => { await server.stopClean(); });

async function connected(user = 'bad') {
  const client = await Client.open(`${server.ws}?user_id=${user}`);
  await client.next('connect');
  return client;
}

test('malformed messages get an error reply with a code, and the connection stays usable', async () => {
  const client = await connected();
  const cases = [
    ['not json at all', 'invalid_json'],
    ['{"type":"subscribe","topic":"a"', 'invalid_json'],
    ['[1,2,3]', 'invalid_json'],
    ['"just a string"', 'invalid_json'],
    ['{}', 'invalid_message'],
    ['{"type":42}', 'invalid_message'],
    ['{"type":"explode"}', 'unknown_type'],
    ['{"type":"data","topic":"a","data":1}', 'unknown_type'],
    ['{"type":"subscribe"}', 'invalid_message'],
    ['{"type":"subscribe","topic":7}', 'invalid_message'],
    ['{"type":"subscribe","topic":""}', 'invalid_topic'],
    ['{"type":"subscribe","topic":"a..b"}', 'invalid_topic'],
    ['{"type":"subscribe","topic":".a"}', 'invalid_topic'],
    ['{"type":"subscribe","topic":"a."}', 'invalid_topic'],
    ['{"type":"subscribe","topic":"a b"}', 'invalid_topic'],
    ['{"type":"subscribe","topic":"chat.*.>.x"}', 'invalid_topic'],  // a pattern, but `>` not last
    ['{"type":"sync","topic":"chat.>","data":1}', 'invalid_topic'],  // sync needs one topic
    ['{"type":"subscribe","topic":"caf\u00e9"}', 'invalid_topic'],
    [JSON.stringify({ type: 'subscribe', topic: 'a'.repeat(257) }), 'invalid_topic'],
    ['{"type":"sync","topic":"a"}', 'invalid_message'],
    ['{"type":"auth"}', 'invalid_message'],
    ['{"type":"subscribe","topic":"a","id":{"x":1}}', 'invalid_message'],
    ['{"type":"subscribe","topic":"a","id":1.5}', 'invalid_message'],
    ['{"type":"subscribe","topic":"a"} trailing', 'invalid_json'],
    ['{"type":"subscribe","topic":"a","topic":"b"}', null], // duplicate keys: either accepted or an error, never a crash
    ['{"type":"' + '\\u0000'.repeat(10) + '"}', 'unknown_type'],
    ['['.repeat(2000), 'invalid_json'],
  ];
  for (const [text, code] of cases) {
    client.send(text);
    const reply = await client.next();
    if (code === null) continue;
    assert.equal(reply.type, 'error', `for ${text.slice(0, 60)}: ${JSON.stringify(reply)}`);
    assert.equal(reply.code, code, `for ${text.slice(0, 60)}: ${JSON.stringify(reply)}`);
    assert.ok(typeof reply.error === 'string' && reply.error.length > 0);
  }
  // Still a working connection.
  assert.equal((await client.request({ type: 'subscribe', topic: 'still.alive' })).type, 'subscribe');
  const exact = 'a'.repeat(256);
  assert.equal((await client.request({ type: 'subscribe', topic: exact })).type, 'subscribe');
  await client.close();
});

test('an error reply to a message with an id carries that id', async () => {
  const client = await connected();
  client.send('{"type":"nope","id":"x1"}');
  const reply = await client.next();
  assert.deepEqual({ type: reply.type, code: reply.code, id: reply.id }, { type: 'error', code: 'unknown_type', id: 'x1' });
  await client.close();
});

test('a message over WS_MAX_MESSAGE_SIZE is closed with 1009; others are unaffected', async () => {
  const victim = await connected('big');
  const bystander = await connected('bystander');
  await bystander.request({ type: 'subscribe', topic: 'safe' });
  victim.send(JSON.stringify({ type: 'sync', topic: 'safe', data: 'x'.repeat(5000) }));
  assert.equal((await victim.closed).code, 1009);
  await postJson(`${server.http}/api/sync/publish`, { topic: 'safe', data: 'ok' });
  assert.equal((await bystander.next('data')).data, 'ok');
  await bystander.close();
});

test('invalid UTF-8 in a text frame is closed with 1007', async () => {
  const client = await connected('utf8');
  client.ws.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
  assert.equal((await client.closed).code, 1007);
});

test('a binary frame gets an unsupported_data error and close 1003', async () => {
  const client = await connected('binary');
  client.ws.send(Buffer.from('{"type":"subscribe","topic":"a"}'), { binary: true });
  const error = await client.next('error');
  assert.equal(error.code, 'unsupported_data');
  assert.equal((await client.closed).code, 1003);
});

test('HTTP garbage gets 400 and the server keeps serving', async () => {
  const answers = await Promise.all([
    rawExchange(server.port, 'HELLO\r\n\r\n'),
    rawExchange(server.port, '\x00\x01\x02\x03\xff\xfe\r\n\r\n'),
    rawExchange(server.port, 'GET / HTTP/9.9\r\n\r\n'),
    rawExchange(server.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n'),
    rawExchange(server.port, 'POST /api/sync/publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'),
  ]);
  for (const answer of answers) assert.match(answer, /^HTTP\/1\.1 400 /, JSON.stringify(answer.slice(0, 80)));
  // A client that connects and sends nothing is not a problem either.
  assert.equal((await getStatus(server)).status, 'running');
});

test('huge headers get 431, a huge body 413', async () => {
  const huge = await rawExchange(server.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
  assert.match(huge, /^HTTP\/1\.1 431 /);
  const body = await postJson(`${server.http}/api/sync/publish`, { topic: 'a', data: 'x'.repeat(9000) });
  assert.equal(body.status, 413);
  assert.equal(body.json.code, 'body_too_large');
});

test('upgrade requests on other paths or with a bad handshake are refused', async () => {
  await assert.rejects(Client.open(`ws://127.0.0.1:${server.port}/ws/other?user_id=x`), { status: 404 });
  const noKey = await rawExchange(server.port,
    'GET /ws/sync?user_id=x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n');
  assert.match(noKey, /^HTTP\/1\.1 400 /);
  const plainGet = await fetch(`${server.http}/ws/sync`);
  assert.equal(plainGet.status, 426);
});

test('REST rejects mistyped fields with 400 and a code', async () => {
  const url = `${server.http}/api/sync/publish`;
  for (const body of ['', 'null', '[]', '{"topic":5,"data":1}', '{"topic":"a","user_id":"u","data":1}',
    '{"user_id":"","data":1}', '{"topic":"a b","data":1}', '{"data":1}', '\xff\xfe']) {
    const res = await postJson(url, body);
    assert.equal(res.status, 400, `body ${body}: ${res.text}`);
    assert.ok(res.json && res.json.code, res.text);
  }
});

test('bad origins are refused with 403 when ALLOWED_ORIGINS is set', async () => {
  const guarded = await startServer({ ALLOWED_ORIGINS: 'https://app.example.com,http://localhost:3000' });
  try {
    await assert.rejects(Client.open(`${guarded.ws}?user_id=o`, { origin: 'https://evil.example.com' }), { status: 403 });
    const ok = await Client.open(`${guarded.ws}?user_id=o`, { origin: 'https://app.example.com' });
    await ok.next('connect');
    await ok.close();
  } finally {
    await guarded.stopClean();
  }
});
