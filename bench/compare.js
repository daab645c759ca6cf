#!/usr/bin/env node
// bench/compare's driver (run bench/compare, which installs and builds first): the
// same scenarios, with the same load generator, against natsync, nats-server's
// WebSocket listener and a Node `ws` server. Server on core 0, load generator on core 1
// (taskset), each scenario repeated and the median kept; prints a table of ratios and
// writes JSON and SVG charts into the output folder. See docs/benchmarks.md.
//
//   node bench/compare.js [--smoke] [--repeat N] [--out DIR] [--only a,b] [--peers natsync,…]
'use strict';
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const smoke = flag('--smoke');
const repeat = Number(option('--repeat', smoke ? 1 : 3));
const outDir = path.resolve(option('--out', path.join(root, 'bench', 'results', smoke ? 'smoke' : '.')));
const only = option('--only', '')
  .split(',')
  .filter(Boolean);
const loadgen = process.env.NATSYNC_LOADGEN || path.join(root, 'build', 'natsync_loadgen');
const natsyncBin = process.env.NATSYNC_BIN || path.join(root, 'build', 'natsync');
const cores = os.cpus().length;
const pin = (core) => (cores >= 2 && hasTaskset() ? ['taskset', '-c', String(core)] : []);

function hasTaskset() {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const sizes = smoke
  ? { fanoutSubs: 50, windows: [16], seconds: 0.5, rateSubs: 50, rate: 100, topics: 100, topicRate: 1000, connect: 200, scale: 0 }
  : { fanoutSubs: 1000, windows: [1, 2, 4, 8, 16, 32, 64], seconds: 3, rateSubs: 1000, rate: 200, topics: 10000, topicRate: 20000, connect: 10000, scale: 19000 };

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, deadlineMs = 10000) {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

// ---- the servers ----

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'natsync-compare-'));
const children = new Set();
function launch(command, argv, env = {}) {
  const [bin, ...rest] = [...pin(0), command, ...argv];
  const child = spawn(bin, rest, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  child.stderrText = () => stderr;
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
async function stop(child) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
// The server's own pid (taskset execs, so the child is the server).
const serverPid = (child) => child.pid;

const servers = {
  natsync: {
    protocol: 'natsync',
    async start(extraEnv = {}) {
      const port = await freePort();
      const child = launch(natsyncBin, [], { LISTEN_ADDR: `127.0.0.1:${port}`, WORKER_THREADS: '1', LOG_LEVEL: 'warn', WS_MESSAGE_RATE: '0', ...extraEnv });
      await waitForPort(port, child);
      return { child, url: `ws://127.0.0.1:${port}/ws/sync`, http: `http://127.0.0.1:${port}` };
    },
  },
  'nats-server': {
    protocol: 'nats',
    async start() {
      const [port, wsPort] = [await freePort(), await freePort()];
      const conf = path.join(tmp, `nats-${wsPort}.conf`);
      fs.writeFileSync(conf, `listen: 127.0.0.1:${port}\nwebsocket { listen: "127.0.0.1:${wsPort}", no_tls: true }\n`);
      const child = launch('nats-server', ['-c', conf]);
      await waitForPort(wsPort, child);
      return { child, url: `ws://127.0.0.1:${wsPort}`, nats: `nats://127.0.0.1:${port}` };
    },
  },
  'node-ws': {
    protocol: 'natsync',
    async start() {
      const port = await freePort();
      const child = launch(process.execPath, [path.join(__dirname, 'peers', 'ws_server.js'), String(port)]);
      await waitForPort(port, child);
      return { child, url: `ws://127.0.0.1:${port}/ws/sync`, http: `http://127.0.0.1:${port}` };
    },
  },
};

function runLoadgen(argv) {
  const [bin, ...rest] = [...pin(1), loadgen, ...argv];
  let text = '';
  try {
    text = execFileSync(bin, rest, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300000 });
  } catch (e) {
    text = e.stdout || ''; // a run with losses or errors exits 1 but still reports
  }
  const line = text.trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    return { error: `no result from natsync_loadgen ${argv.join(' ')}: ${text.slice(0, 300)}` };
  }
}

const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : NaN;
};
const loadAverage = () => Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

// Runs `argvFor(server)` `repeat` times on a server started once (or once per run with
// `fresh`), and keeps the run with the median `metric`.
async function measure(name, serverName, argvFor, metric, { fresh = false, env = {} } = {}) {
  const runs = [];
  let instance = fresh ? null : await servers[serverName].start(env);
  for (let i = 0; i < repeat; i++) {
    if (fresh) instance = await servers[serverName].start(env);
    const result = runLoadgen([...argvFor(instance), '--server-pid', String(serverPid(instance.child))]);
    result.load_average_before = loadAverage();
    runs.push(result);
    if (fresh) await stop(instance.child);
  }
  if (!fresh) await stop(instance.child);
  const values = runs.map(metric);
  const mid = median(values);
  const chosen = runs[values.indexOf(mid)] || runs[0];
  const errors = runs.filter((r) => r.error || r.lost > 0 || r.out_of_order > 0 || r.failed > 0);
  // natsync must never lose, reorder or fail; a peer's trouble is reported, not fatal.
  if (errors.length && serverName === 'natsync') {
    failures.push(`${name}: ${JSON.stringify(errors[0]).slice(0, 400)}`);
  }
  process.stderr.write(
    `  ${name} ${serverName}: ${Number.isFinite(mid) ? Math.round(mid * 100) / 100 : 'n/a'} (runs: ${values
      .map((v) => (Number.isFinite(v) ? Math.round(v) : 'x'))
      .join(', ')}; load ${runs.map((r) => r.load_average).join('/')})${errors.length ? ' ERRORS' : ''}\n`,
  );
  return { value: mid, runs, chosen, errors: errors.length };
}

const failures = [];
const wanted = (scenario) => only.length === 0 || only.includes(scenario);
// --peers natsync: only natsync (an A/B of two builds through NATSYNC_BIN, one run each).
const peers = option('--peers', 'natsync,nats-server,node-ws').split(',').filter(Boolean);

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    machine: { cores, model: os.cpus()[0]?.model, memory_gib: Math.round(os.totalmem() / 2 ** 30), load_average: loadAverage() },
    pinned: pin(0).length > 0,
    repeat,
    smoke,
    versions: {
      natsync: execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
      'nats-server': execFileSync('nats-server', ['--version'], { encoding: 'utf8' }).trim(),
      node: process.version,
    },
    scenarios: {},
  };
  const put = (scenario, server, key, result) => {
    report.scenarios[scenario] ??= {};
    report.scenarios[scenario][server] ??= {};
    report.scenarios[scenario][server][key] = result;
  };
  const common = (instance, server) => ['--protocol', servers[server].protocol, '--sub', instance.url];

  if (wanted('fanout')) {
    process.stderr.write(`fanout: 1 topic x ${sizes.fanoutSubs} subscribers, 64 B, max rate per window\n`);
    for (const server of peers) {
      for (const window of sizes.windows) {
        const r = await measure(`fanout w=${window}`, server, (i) => [...common(i, server), '--subscribers', String(sizes.fanoutSubs), '--window', String(window), '--seconds', String(sizes.seconds)], (x) => x.deliveries_per_s);
        put('fanout', server, `w${window}`, r);
      }
    }
  }
  if (wanted('fanout_rate')) {
    process.stderr.write(`fanout_rate: ${sizes.rate} msg/s x ${sizes.rateSubs} subscribers (latency)\n`);
    for (const server of peers) {
      const r = await measure('fanout_rate', server, (i) => [...common(i, server), '--subscribers', String(sizes.rateSubs), '--rate', String(sizes.rate), '--seconds', String(smoke ? 0.5 : 5)], (x) => x.latency_us?.p99);
      put('fanout_rate', server, 'p99', r);
    }
  }
  if (wanted('topics')) {
    process.stderr.write(`topics: ${sizes.topics} topics x 1 subscriber, ${sizes.topicRate} msg/s to random topics\n`);
    for (const server of peers) {
      const r = await measure('topics', server, (i) => [...common(i, server), '--scenario', 'topics', '--subscribers', String(sizes.topics), '--rate', String(sizes.topicRate), '--seconds', String(smoke ? 0.5 : 5)], (x) => x.latency_us?.p99);
      put('topics', server, 'p99', r);
    }
  }
  if (wanted('connect')) {
    process.stderr.write(`connect: ${sizes.connect} connections, then one subscription each (fresh server per run)\n`);
    for (const server of peers) {
      const r = await measure('connect', server, (i) => [...common(i, server), '--scenario', 'connect', '--subscribers', String(sizes.connect), '--subscribe-each'], (x) => x.handshakes_per_s, { fresh: true });
      put('connect', server, 'handshakes', r);
    }
  }
  if (wanted('publish')) {
    // natsync's three ways in, same fanout at a fixed rate: WebSocket sync, REST, and a
    // NATS client publishing into a natsync node through nats-server (cluster mode).
    process.stderr.write('publish: natsync via sync, REST and NATS (100 subscribers, 1,000 msg/s)\n');
    const subs = smoke ? '20' : '100';
    const seconds = smoke ? '0.5' : '5';
    for (const via of ['sync', 'rest', 'nats']) {
      let nats = null;
      let env = {};
      if (via === 'nats') {
        nats = await servers['nats-server'].start();
        env = { NATS_URL: nats.nats };
      }
      const r = await measure(`publish via ${via}`, 'natsync', (i) => [
        '--sub', i.url, '--subscribers', subs, '--rate', '1000', '--seconds', seconds,
        '--pub', via === 'sync' ? i.url : via === 'rest' ? i.http : nats.nats,
        ...(via === 'nats' ? ['--subject-prefix', 'natsync.t.'] : []),
      ], (x) => x.latency_us?.p99, { env });
      put('publish', 'natsync', via, r);
      if (nats) await stop(nats.child);
    }
  }
  if (wanted('scale') && sizes.scale > 0) {
    process.stderr.write(`scale: ${sizes.scale} subscribed connections, 1 msg/s per topic (natsync)\n`);
    const r = await measure('scale', 'natsync', (i) => ['--sub', i.url, '--scenario', 'topics', '--subscribers', String(sizes.scale), '--rate', String(sizes.scale), '--seconds', '10', '--connect-concurrency', '512'], (x) => x.received, { fresh: true });
    put('scale', 'natsync', 'topics', r);
  }

  // natsync-only scenarios, each a script of its own that prints one JSON line.
  const script = (scenario, key, file, description, extraArgs = [], extraEnv = {}) => {
    if (!wanted(scenario)) return;
    process.stderr.write(`${scenario}: ${description} (bench/${file})\n`);
    const run = spawnSync(process.execPath, [path.join(__dirname, file), ...(smoke ? ['--smoke'] : extraArgs)],
      { env: { ...process.env, NATSYNC_BIN: natsyncBin, ...extraEnv }, encoding: 'utf8', timeout: 600000 });
    if (run.status === 0) put(scenario, 'natsync', key, JSON.parse(run.stdout.trim().split('\n').pop()));
    else failures.push(`${scenario}: ${run.stderr.slice(-2000)}${run.stdout.slice(-500)}`);
  };
  // Shared documents: no peer has them.
  script('documents', 'sqlite', 'documents.js', 'patches/s on 1 and 1,000 documents, ack latency, a 100 KiB snapshot to many subscribers');
  // Wildcard subscriptions: the fanout beside pattern subscriptions that match nothing it publishes.
  script('patterns', 'fanout', 'patterns.js', 'fanout beside 0, 100 and 10,000 pattern subscriptions',
    ['--repeat', String(repeat)], { NATSYNC_LOADGEN: loadgen });
  // GET /metrics: the fanout with and without a scraper every second.
  script('metrics', 'fanout', 'metrics.js', 'fanout without and with a /metrics scraper every second',
    ['--repeat', String(repeat)], { NATSYNC_LOADGEN: loadgen });
  // Presence across 3 nodes on nats-server: NATS messages per join, mass join and reconnect, queries.
  script('presence', 'cluster', 'presence.js', '3 nodes, NATS cost of joins, a mass reconnect, queries');
  // natsync-client: many SDK clients brought back after a server restart.
  script('reconnect', 'sdk', 'reconnect.mjs', 'SDK clients back after a server restart');

  fs.writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify(report, null, 1) + '\n');
  const table = summarize(report);
  fs.writeFileSync(path.join(outDir, 'latest.md'), table + '\n');
  process.stdout.write(table + '\n');
  chart(report);
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), outDir) || '.'}/latest.{json,md,svg}\n`);
  if (failures.length) {
    process.stderr.write(`natsync runs with errors, losses or reordering:\n${failures.join('\n')}\n`);
    process.exitCode = 1;
  }
}

// ---- the table of ratios ----

function summarize(report) {
  const s = report.scenarios;
  const rows = [];
  const fmt = (v, unit = '') => (Number.isFinite(v) ? `${v >= 100 ? Math.round(v).toLocaleString('en-US') : Math.round(v * 100) / 100}${unit}` : 'n/a');
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
  const row = (label, get, unit, higherIsBetter = true) => {
    const [n, g, w] = peers.map((p) => get(p));
    rows.push(`| ${label} | ${fmt(n, unit)} | ${fmt(g, unit)} | ${fmt(w, unit)} | ${ratio(n, g)} | ${ratio(n, w)} | ${higherIsBetter ? 'higher' : 'lower'} |`);
  };
  rows.push(`Load average at start ${report.machine.load_average}; ${report.machine.cores} cores (${report.machine.model}); server and load generator ${report.pinned ? 'pinned to cores 0 and 1' : 'not pinned'}; median of ${report.repeat}.`);
  rows.push('');
  rows.push('| scenario | natsync | nats-server (WebSocket) | Node ws | natsync / nats-server | natsync / Node ws | better |');
  rows.push('|---|---|---|---|---|---|---|');
  if (s.fanout) {
    const best = (p) => Math.max(...Object.values(s.fanout[p] || {}).map((r) => r.value).filter(Number.isFinite));
    row('fanout deliveries/s, best window', best, '');
    for (const w of [16, ...sizes.windows.filter((x) => x !== 16)]) {
      if (s.fanout.natsync?.[`w${w}`]) row(`fanout deliveries/s, window ${w}`, (p) => s.fanout[p]?.[`w${w}`]?.value, '');
    }
    const lg = s.fanout.natsync?.w64?.chosen?.loadgen_busiest_thread_percent;
    if (lg !== undefined) rows.push(`| (load generator's busiest thread at natsync window 64) | ${lg}% | | | | | |`);
  }
  if (s.fanout_rate) row(`fanout ${sizes.rate} msg/s × ${sizes.rateSubs}: p99 latency`, (p) => s.fanout_rate[p]?.p99?.value / 1000, ' ms', false);
  if (s.topics) row(`${sizes.topics} topics at ${sizes.topicRate} msg/s: p99 latency`, (p) => s.topics[p]?.p99?.value / 1000, ' ms', false);
  if (s.connect) {
    row('handshakes/s', (p) => s.connect[p]?.handshakes?.value, '');
    row('RSS per idle connection', (p) => s.connect[p]?.handshakes?.chosen?.rss_per_connection_kib?.idle, ' KiB', false);
    row('RSS per connection with 1 subscription', (p) => s.connect[p]?.handshakes?.chosen?.rss_per_connection_kib?.subscribed, ' KiB', false);
  }
  if (s.publish) {
    for (const via of ['sync', 'rest', 'nats']) {
      const r = s.publish.natsync?.[via]?.chosen;
      if (r) rows.push(`| natsync publish via ${via}: p50 / p99 (100 subs, 1,000 msg/s) | ${fmt(r.latency_us?.p50 / 1000)} / ${fmt(r.latency_us?.p99 / 1000)} ms, lost ${r.lost} | | | | | lower |`);
    }
  }
  if (s.scale) {
    const r = s.scale.natsync.topics.chosen;
    rows.push(`| scale: subscribed connections, 1 msg/s per topic | ${r.connected} connected, ${r.received}/${r.expected} delivered, ${r.failed} failed, p99 ${fmt(r.latency_us?.p99 / 1000)} ms, server RSS ${fmt(r.server_rss_kib / 1024)} MiB | | | | | |`);
  }
  rows.push('');
  rows.push(...targets(report));
  const d = s.documents?.natsync?.sqlite;
  if (d) {
    rows.push('', '| documents (natsync, SQLite, fsync per group commit) | value |', '|---|---|');
    rows.push(`| patches/s, one document (${d.writers} writers x ${d.window} in flight) | ${fmt(d.one_document.patches_per_s)} |`);
    rows.push(`| patches/s, 1,000 documents | ${fmt(d['1000_documents'].patches_per_s)} |`);
    rows.push(`| acked patch latency p50 / p99, one at a time | ${fmt(d.latency.p50_us, ' µs')} / ${fmt(d.latency.p99_us, ' µs')} |`);
    rows.push(`| ${fmt(d.snapshot.document_bytes / 1024)} KiB snapshot to ${fmt(d.snapshot.subscribers)} subscribers | ${fmt(d.snapshot.ms, ' ms')} |`);
  }
  const pt = s.patterns?.natsync?.fanout;
  if (pt) {
    rows.push('', `| fanout beside pattern subscriptions (${pt.subscribers} subscribers, window ${pt.window}) | deliveries/s |`, '|---|---|');
    for (const [count, value] of Object.entries(pt.deliveries_per_s)) rows.push(`| ${fmt(Number(count))} patterns | ${fmt(value)} |`);
  }
  const mt = s.metrics?.natsync?.fanout;
  if (mt) {
    rows.push('', `| fanout and GET /metrics (${mt.subscribers} subscribers, window ${mt.window}) | deliveries/s |`, '|---|---|');
    rows.push(`| no scraper | ${fmt(mt.deliveries_per_s.without_scraper)} |`);
    rows.push(`| a scrape every second (${mt.scrape_ms.p50} ms each at p50) | ${fmt(mt.deliveries_per_s.scraper_every_1s)} |`);
  }
  const pr = s.presence?.natsync?.cluster;
  if (pr) {
    rows.push('', `| presence (3 nodes, ${fmt(pr.members)} members) | value |`, '|---|---|');
    rows.push(`| one join: NATS messages / bytes | ${pr.per_join.nats_messages} / ${fmt(pr.per_join.bytes)} |`);
    rows.push(`| ${fmt(pr.members)} join: NATS messages / bytes / until every node counts them | ${fmt(pr.mass_join.messages)} / ${fmt(pr.mass_join.bytes)} / ${fmt(pr.mass_join.ms, ' ms')} |`);
    rows.push(`| a new node: full states (messages / bytes / ms) | ${fmt(pr.new_node.messages)} / ${fmt(pr.new_node.bytes)} / ${fmt(pr.new_node.ms, ' ms')} |`);
    rows.push(`| all reconnect: NATS messages / ms; a watcher's frames (single / summaries) | ${fmt(pr.mass_reconnect.messages)} / ${fmt(pr.mass_reconnect.ms, ' ms')}; ${fmt(pr.mass_reconnect.watcher_frames.join_or_leave)} / ${fmt(pr.mass_reconnect.watcher_frames.presence_summary)} |`);
    rows.push(`| presence query p50 / p99 | ${pr.query_ms.p50} ms / ${pr.query_ms.p99} ms |`);
  }
  const r = s.reconnect?.natsync?.sdk;
  if (r) {
    rows.push('', `| reconnect (natsync-client, ${r.clients} clients, server down ${r.down_ms} ms) | value |`, '|---|---|');
    rows.push(`| server back → resubscribed, p50 / p99 / all | ${fmt(r.resubscribed_ms.p50, ' ms')} / ${fmt(r.resubscribed_ms.p99, ' ms')} / ${fmt(r.resubscribed_ms.max, ' ms')} |`);
    rows.push(`| connection attempts (most in 100 ms) | ${fmt(r.attempts)} (${fmt(r.attempts_max_per_100ms)}) |`);
    rows.push(`| server CPU over the reconnect | ${fmt(r.server_cpu_ms, ' ms')} |`);
  }
  return rows.join('\n');
}

// The performance issue's targets, each with what this run measured.
function targets(report) {
  const s = report.scenarios;
  const out = ['| target | measured in this run | met |', '|---|---|---|'];
  const add = (target, measured, met) => out.push(`| ${target} | ${measured} | ${met === undefined ? 'n/a' : met ? 'yes' : '**no**'} |`);
  const x = (v) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a');
  if (s.fanout) {
    const best = (p) => Math.max(...Object.values(s.fanout[p] || {}).map((r) => r.value).filter(Number.isFinite));
    const w16 = (p) => s.fanout[p]?.w16?.value;
    add('fanout ≥ 2× nats-server, each at its best window', x(best('natsync') / best('nats-server')), best('natsync') >= 2 * best('nats-server'));
    add('fanout ≥ 2× nats-server at window 16', x(w16('natsync') / w16('nats-server')), w16('natsync') >= 2 * w16('nats-server'));
    add('fanout ≥ 10× Node ws (best window)', x(best('natsync') / best('node-ws')), best('natsync') >= 10 * best('node-ws'));
  }
  if (s.fanout_rate) {
    const p99 = (p) => s.fanout_rate[p]?.p99?.value;
    add(`${sizes.rate} msg/s × ${sizes.rateSubs}: p99 ≤ half of nats-server's`, `${(p99('natsync') / 1000).toFixed(2)} ms vs ${(p99('nats-server') / 1000).toFixed(2)} ms`, p99('natsync') <= p99('nats-server') / 2);
  }
  if (s.topics) {
    const p99 = s.topics.natsync?.p99?.value;
    add(`${sizes.topics} topics × 1 subscriber at ${sizes.topicRate} msg/s: p99 ≤ 2 ms`, `${(p99 / 1000).toFixed(2)} ms`, p99 <= 2000);
  }
  if (s.connect) {
    const r = s.connect.natsync?.handshakes;
    const rss = r?.chosen?.rss_per_connection_kib;
    add(`${sizes.connect} idle connections: ≤ 2 KiB RSS each`, `${rss?.idle?.toFixed(2)} KiB`, rss?.idle <= 2);
    add('… with one subscription each: ≤ 3 KiB', `${rss?.subscribed?.toFixed(2)} KiB`, rss?.subscribed <= 3);
    add('≥ 15,000 handshakes/s', `${Math.round(r?.value)}/s`, r?.value >= 15000);
  }
  if (s.scale) {
    const r = s.scale.natsync.topics.chosen;
    add(`${sizes.scale} subscribed connections, 1 msg/s per topic, no errors`, `${r.connected} connected, ${r.received}/${r.expected} delivered, ${r.failed} failed`, r.connected === sizes.scale && r.received === r.expected && r.failed === 0);
  }
  return out;
}

// ---- the chart (gnuplot, SVG) ----

function chart(report) {
  const f = report.scenarios.fanout;
  if (!f) return;
  const data = path.join(tmp, 'fanout.dat');
  const lines = ['# window ' + peers.join(' ')];
  for (const w of sizes.windows) lines.push([w, ...peers.map((p) => (f[p]?.[`w${w}`]?.value ?? NaN) / 1e6)].join(' '));
  fs.writeFileSync(data, lines.join('\n') + '\n');
  const script = [
    "set terminal svg size 800,480 dynamic background rgb 'white' font 'sans,12'",
    `set output '${path.join(outDir, 'latest.svg')}'`,
    `set title 'Fanout: 1 topic x ${sizes.fanoutSubs} subscribers, 64-byte messages, one core per side'`,
    "set xlabel 'window (messages in flight per publisher)'",
    "set ylabel 'deliveries per second (millions)'",
    'set logscale x 2',
    'set key top left',
    'set grid',
    `plot '${data}' using 1:2 with linespoints lw 2 title 'natsync', '' using 1:3 with linespoints lw 2 title 'nats-server (WebSocket)', '' using 1:4 with linespoints lw 2 title 'Node ws'`,
  ].join('\n');
  try {
    execFileSync('gnuplot', [], { input: script, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (e) {
    process.stderr.write(`gnuplot failed: ${e.message}\n`);
  }
}

main()
  .catch((e) => {
    process.stderr.write(`compare: ${e.stack || e}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const child of children) await stop(child);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
