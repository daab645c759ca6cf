// What an operator uses (docs/operations.md): GET /metrics checked by promtool and moving
// with real traffic, JSON logs parsed line by line, --check-config, --version and
// CONFIG_FILE with its precedence. Per-node figures: not in the cluster pass (scripts/test).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { BIN, startServer, Client, postJson, makeCertificate, rawExchange, sleep, waitFor } = require('./harness');

const API_KEY = 'operations-test-key';
const auth = { Authorization: `Bearer ${API_KEY}` };

async function scrape(server, headers = auth) {
  const response = await fetch(`${server.http}/metrics`, { headers });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

// name{labels} -> value, from the exposition text.
function samples(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

// promtool comes with Debian's `prometheus` (scripts/test installs it).
function checkWithPromtool(text) {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(result.status, 0, `promtool check metrics:\n${result.stdout}${result.stderr}`);
}

test('GET /metrics: the API key by default, the exposition format, promtool passes, the counters follow traffic', async () => {
  const server = await startServer({ SYNC_API_KEY: API_KEY, ALLOWED_ORIGINS: 'https://app.example', LOG_LEVEL: 'debug',
    LOG_FORMAT: 'json', DURABLE_TOPICS: 'orders.>', PRESENCE_TOPICS: 'room.*', DOCUMENT_TOPICS: 'doc.>',
    DOCUMENT_STORE: 'memory' });
  try {
    assert.equal((await scrape(server, {})).status, 401);
    assert.equal((await scrape(server, { Authorization: 'Bearer wrong' })).status, 403);
    const before = await scrape(server);
    assert.equal(before.status, 200);
    assert.equal(before.type, 'text/plain; version=0.0.4; charset=utf-8');
    checkWithPromtool(before.text);
    const names = [...before.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    for (const expected of ['natsync_build_info gauge', 'natsync_connections gauge', 'natsync_users gauge',
      'natsync_subscriptions gauge', 'natsync_topics gauge', 'natsync_connections_accepted_total counter',
      'natsync_connections_refused_total counter', 'natsync_disconnects_total counter',
      'natsync_messages_received_total counter', 'natsync_publications_total counter', 'natsync_deliveries_total counter',
      'natsync_bytes_sent_total counter', 'natsync_bytes_received_total counter', 'natsync_errors_total counter',
      'natsync_slow_consumer_disconnects_total counter', 'natsync_auth_failures_total counter',
      'natsync_publish_to_write_seconds histogram', 'natsync_broker_connected gauge',
      'natsync_broker_publish_errors_total counter', 'natsync_recoveries_total counter', 'natsync_documents gauge',
      'natsync_document_patches_total counter', 'natsync_presence_members gauge', 'natsync_outbound_queue_bytes gauge',
      'natsync_nodes gauge', 'natsync_history_consumer_lag_messages gauge']) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
    }
    assert.match(before.text, /^natsync_build_info\{version="\d+\.\d+\.\d+[^"]*"\} 1$/m);

    // Traffic: two users, subscriptions, a sync, a REST publish, a bad message, a recovery, a
    // document change, a refused origin and a refused REST caller, then a clean close.
    const a = await Client.open(`${server.ws}?user_id=ann`);
    const b = await Client.open(`${server.ws}?user_id=ben`);
    await a.next('connect');
    await b.next('connect');
    for (const client of [a, b]) await client.request({ type: 'subscribe', topic: 'news', id: 's' });
    await b.request({ type: 'subscribe', topic: 'room.1', id: 'r' });
    await a.request({ type: 'sync', topic: 'news', data: { n: 1 }, id: 'x' });
    await postJson(`${server.http}/api/sync/publish`, { topic: 'news', data: 'hi' }, auth);
    a.send('not json');
    assert.equal((await a.next('error')).code, 'invalid_json');
    const recovery = await a.request({ type: 'subscribe', topic: 'orders.1', since: { offset: 0, epoch: '0123456789abcdef' }, id: 'o' });
    assert.equal(recovery.recovered, true, JSON.stringify(recovery));  // nothing was ever published there
    assert.equal((await a.request({ type: 'patch', topic: 'doc.1', data: { a: 1 }, id: 'p' })).type, 'patch');
    await b.next('data');
    await b.next('data');
    await a.next('data');
    const refused = await rawExchange(server.port, 'GET /ws/sync HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n' +
      'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
      'Origin: https://evil.example\r\n\r\n');
    assert.match(refused.toString(), /^HTTP\/1\.1 403/);
    await postJson(`${server.http}/api/sync/publish`, { topic: 'news', data: 1 }, { Authorization: 'Bearer nope' });

    const live = samples((await scrape(server)).text);
    assert.equal(live.get('natsync_connections{transport="ws"}'), 2);
    assert.equal(live.get('natsync_connections{transport="wss"}'), 0);
    assert.equal(live.get('natsync_users'), 2);
    assert.equal(live.get('natsync_subscriptions'), 4);
    assert.equal(live.get('natsync_topics'), 3);
    assert.equal(live.get('natsync_connections_accepted_total'), 2);
    assert.equal(live.get('natsync_connections_refused_total{reason="origin"}'), 1);
    assert.equal(live.get('natsync_messages_received_total{type="subscribe"}'), 4);
    assert.equal(live.get('natsync_messages_received_total{type="sync"}'), 1);
    assert.equal(live.get('natsync_messages_received_total{type="patch"}'), 1);
    assert.equal(live.get('natsync_publications_total{source="sync"}'), 1);
    assert.equal(live.get('natsync_publications_total{source="rest"}'), 1);
    assert.equal(live.get('natsync_deliveries_total') >= 3, true);
    assert.equal(live.get('natsync_errors_total{code="invalid_json"}'), 1);
    assert.equal(live.get('natsync_auth_failures_total{reason="api_key"}') >= 2, true);  // 'wrong' above, and 'nope'
    assert.equal(live.get('natsync_recoveries_total{recovered="true"}'), 1);
    assert.equal(live.get('natsync_document_patches_total'), 1);
    assert.equal(live.get('natsync_documents'), 1);
    assert.equal(live.get('natsync_presence_members'), 1);
    assert.equal(live.get('natsync_broker_connected'), 1);
    assert.equal(live.get('natsync_publish_to_write_seconds_count') >= 1, true);
    assert.equal(live.get('natsync_publish_to_write_seconds_bucket{le="+Inf"}'), live.get('natsync_publish_to_write_seconds_count'));
    assert.ok(live.get('natsync_bytes_sent_total') > 0 && live.get('natsync_bytes_received_total') > 0);

    await a.close();
    await b.close();
    await waitFor(async () => samples((await scrape(server)).text).get('natsync_connections{transport="ws"}') === 0);
    const after = (await scrape(server)).text;
    checkWithPromtool(after);
    assert.equal(samples(after).get('natsync_disconnects_total{code="1000"}'), 2);
  } finally {
    await server.stopClean();
  }
  // LOG_FORMAT=json: every line the run wrote is one JSON object with time, level and
  // message; the connection events carry their fields.
  const lines = server.output().split('\n').filter((line) => line !== '');
  assert.ok(lines.length >= 10, server.output());
  const entries = lines.map((line) => {
    try { return JSON.parse(line); } catch { assert.fail(`not JSON: ${line}`); }
  });
  for (const entry of entries) {
    assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(['debug', 'info', 'warn', 'error'].includes(entry.level), entry.level);
    assert.equal(typeof entry.message, 'string');
  }
  const opened = entries.find((e) => e.message.startsWith('connection open') && e.user_id === 'ann');
  assert.equal(typeof opened?.connection_id, 'number', JSON.stringify(entries.slice(0, 12)));
  assert.ok(entries.some((e) => e.message === 'connection closed by the peer' && e.code === 1000));
  assert.ok(entries.some((e) => e.origin === 'https://evil.example' && e.code === 403));
});

test('METRICS_PUBLIC=on: /metrics without the key; the REST API still needs it', async () => {
  const server = await startServer({ SYNC_API_KEY: API_KEY, METRICS_PUBLIC: 'on' });
  try {
    assert.equal((await scrape(server, {})).status, 200);
    assert.equal((await postJson(`${server.http}/api/sync/publish`, { topic: 't', data: 1 })).status, 401);
  } finally {
    await server.stopClean();
  }
});

test('JSON logs stay one valid object a line whatever a client sends', async () => {
  const server = await startServer({ LOG_FORMAT: 'json', LOG_LEVEL: 'debug', ALLOWED_ORIGINS: 'https://ok.example' });
  try {
    // Hostile bytes where the log copies what a client sent: an origin with quotes, a
    // backslash and bytes that are not UTF-8 (HTTP allows them in a header), and a user id
    // with control bytes, our field separator and invalid UTF-8.
    const origin = Buffer.concat([Buffer.from('https://"x\\#code=1}'), Buffer.from([0xff, 0xc3])]);
    const request = Buffer.concat([Buffer.from('GET /ws/sync HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: '), origin, Buffer.from('\r\n\r\n')]);
    assert.match((await rawExchange(server.port, request)), /^HTTP\/1\.1 403/);
    const c = await Client.open(`${server.ws}?user_id=${encodeURIComponent('e"v\\il\u0001\u001f#n=1é')}`);
    // A user id that is not UTF-8 would break every text frame that carries it: refused.
    await assert.rejects(Client.open(`${server.ws}?user_id=ab%FF`), (e) => e.status === 401);
    await c.next('connect');
    await c.close();
    await sleep(100);
  } finally {
    await server.stopClean();
  }
  const lines = server.output().split('\n').filter((line) => line !== '');
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
  assert.ok(lines.map((l) => JSON.parse(l)).some((e) => e.user_id === 'e"v\\il\u0001 #n=1é'), server.output());
  assert.ok(lines.map((l) => JSON.parse(l)).some((e) => typeof e.origin === 'string' && e.origin.includes('\ufffd')));
});

const run = (env, args = []) => spawnSync(BIN, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 10000 });

test('--version, and --check-config: exit 0 without binding or connecting, 2 with the same one-line errors', async () => {
  assert.match(run({}, ['--version']).stdout, /^natsync \d+\.\d+\.\d+/);
  // A port in use and an unreachable NATS do not matter: nothing is bound or connected.
  const blocker = net.createServer();
  await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsync-check-'));
  try {
    const ok = run({ LISTEN_ADDR: `127.0.0.1:${blocker.address().port}`, NATS_URL: 'nats://127.0.0.1:1',
      DOCUMENT_TOPICS: 'doc.>', DATA_DIR: path.join(dir, 'data') }, ['--check-config']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /configuration OK/);
    const cert = makeCertificate();
    assert.equal(run({ TLS_CERT_FILE: cert.cert, TLS_KEY_FILE: cert.key }, ['--check-config']).status, 0);
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    const cases = [
      [{ WS_PING_INTERVAL: 'soon' }, /WS_PING_INTERVAL/],
      [{ PRESENCE_TOPICS: 'a..b' }, /PRESENCE_TOPICS/],
      [{ TLS_CERT_FILE: path.join(dir, 'missing.pem'), TLS_KEY_FILE: cert.key }, /TLS_CERT_FILE/],
      [{ TLS_CERT_FILE: path.join(dir, 'file'), TLS_KEY_FILE: path.join(dir, 'file') }, /TLS_CERT_FILE|TLS_KEY_FILE/],
      [{ JWT_PUBLIC_KEY_FILE: path.join(dir, 'missing.pem') }, /JWT_PUBLIC_KEY_FILE/],
      [{ JWT_PUBLIC_KEY_FILE: path.join(dir, 'file') }, /JWT_PUBLIC_KEY_FILE.*not a PEM/],
      [{ DOCUMENT_TOPICS: 'doc.>', DATA_DIR: path.join(dir, 'file', 'sub') }, /DATA_DIR/],
      [{ LOG_FORMAT: 'xml' }, /LOG_FORMAT/],
      [{ METRICS_PUBLIC: 'maybe' }, /METRICS_PUBLIC/],
      [{ ADMIN_UI: 'yes please' }, /ADMIN_UI/],
    ];
    for (const [env, pattern] of cases) {
      const checked = run(env, ['--check-config']);
      assert.equal(checked.status, 2, `${JSON.stringify(env)}: ${checked.stderr}`);
      assert.match(checked.stderr, pattern);
      assert.equal(checked.stderr.trim().split('\n').length, 1, checked.stderr);
      // The same line as a real start gives.
      const started = run({ ...env, LISTEN_ADDR: '127.0.0.1:0' });
      assert.equal(started.status, 2);
      assert.equal(started.stderr, checked.stderr);
    }
  } finally {
    blocker.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('CONFIG_FILE: KEY=value lines; the environment overrides the file, a flag overrides both; bad files exit 2', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsync-config-'));
  const file = path.join(dir, 'natsync.env');
  try {
    fs.writeFileSync(file, '# natsync settings\n\nexport MAX_TOPIC_LENGTH=10\nSYNC_API_KEY="from-file"\n' +
      "DEFAULT_SUBSCRIBE_TOPICS='news.*'\nWORKER_THREADS = 1\n");
    const server = await startServer({ CONFIG_FILE: file, DEFAULT_SUBSCRIBE_TOPICS: 'chat.*' });
    try {
      // SYNC_API_KEY from the file; DEFAULT_SUBSCRIBE_TOPICS from the environment.
      assert.equal((await postJson(`${server.http}/api/sync/publish`, { topic: 'x', data: 1 },
        { Authorization: 'Bearer from-file' })).status, 200);
      const c = await Client.open(`${server.ws}?user_id=u`);
      await c.next('connect');
      assert.equal((await c.request({ type: 'subscribe', topic: 'chat.1', id: 1 })).type, 'subscribe');
      assert.equal((await c.request({ type: 'subscribe', topic: 'news.1', id: 2 })).code, 'permission_denied');
      assert.equal((await c.request({ type: 'subscribe', topic: 'chat.12345678', id: 3 })).code, 'invalid_topic');
      await c.close();
    } finally {
      await server.stopClean();
    }
    // A flag beats the environment, which beats the file.
    fs.writeFileSync(file, 'LOG_FORMAT=xml\n');
    assert.equal(run({ CONFIG_FILE: file }, ['--check-config']).status, 2);
    assert.equal(run({ CONFIG_FILE: file, LOG_FORMAT: 'json' }, ['--check-config']).status, 0);
    assert.equal(run({ CONFIG_FILE: file, LOG_FORMAT: 'bad' }, ['--check-config', '--log-format', 'text']).status, 0);
    assert.equal(run({}, ['--check-config', `--config-file=${file}`]).status, 2);

    const hostile = [
      ['NOPE=1\n', /unknown setting NOPE \(line 1\)/],
      ['just words\n', /not KEY=value \(line 1\)/],
      ['1KEY=x\n', /not a setting name/],
      ['LOG_LEVEL="debug\n', /quote/],
      ['CONFIG_FILE=/etc/other\n', /CONFIG_FILE inside/],
      [Buffer.from([0x4c, 0x3d, 0x00, 0xff, 0x0a]), /NUL|not a setting|unknown/],
      ['A'.repeat(2 * 1024 * 1024), /larger than 1 MiB/],
      ['#\n'.repeat(20000), /more than 10000 lines/],
    ];
    for (const [content, pattern] of hostile) {
      fs.writeFileSync(file, content);
      const result = run({ CONFIG_FILE: file }, ['--check-config']);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, pattern);
      assert.equal(result.stderr.trim().split('\n').length, 1);
    }
    const missing = run({ CONFIG_FILE: path.join(dir, 'none.env') }, ['--check-config']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /CONFIG_FILE .*cannot be read/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
