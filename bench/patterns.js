#!/usr/bin/env node
// Wildcard subscriptions (docs/protocol.md): what they cost a publish that none of them
// matches. The same fan-out as bench/compare's (natsync_loadgen: 1 topic × SUBSCRIBERS,
// window 16, 64 B) on one server that also holds K pattern subscriptions, K = 0, 100 and
// 10,000, on idle connections: half `p<i>.*` (another first token), half `bench.*.q<i>.>`
// (the fan-out topic's own first token, then the `*` branch), so every publish walks both. Each K on a fresh server,
// REPEAT runs, the median kept; server on core 0, load generator on core 1.
//
//   node bench/patterns.js [--smoke] [--repeat N]
// NATSYNC_BIN and NATSYNC_LOADGEN pick the binaries (default build/).
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require(path.join(__dirname, '../tests/e2e/node_modules/ws'));

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const smoke = args.includes('--smoke');
const REPEAT = Number(option('--repeat', smoke ? 1 : 3));
const BIN = process.env.NATSYNC_BIN || path.join(__dirname, '../build/natsync');
const LOADGEN = process.env.NATSYNC_LOADGEN || path.join(__dirname, '../build/natsync_loadgen');
const SUBSCRIBERS = smoke ? 50 : 1000;
const SECONDS = smoke ? 0.5 : 3;
const PATTERN_COUNTS = [0, 100, 10000];
const PER_CONNECTION = 1000;
const pin = (core) => (os.cpus().length >= 2 ? ['taskset', '-c', String(core)] : []);

const freePort = () => new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
});

async function startServer() {
  const port = await freePort();
  const [bin, ...rest] = [...pin(0), BIN];
  const child = spawn(bin, rest, {
    env: { ...process.env, LISTEN_ADDR: `127.0.0.1:${port}`, WORKER_THREADS: '1', LOG_LEVEL: 'warn', WS_MESSAGE_RATE: '0',
      MAX_SUBSCRIPTIONS_PER_CONNECTION: '0' },
    stdio: 'ignore',
  });
  for (let i = 0; i < 200; i++) {
    const open = await new Promise((resolve) => net.connect(port, '127.0.0.1')
      .once('connect', function () { this.destroy(); resolve(true); }).once('error', () => resolve(false)));
    if (open) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url: `ws://127.0.0.1:${port}/ws/sync` };
}

// K pattern subscriptions on ceil(K / PER_CONNECTION) connections, each acknowledged.
async function holdPatterns(url, count) {
  const sockets = [];
  for (let first = 0; first < count; first += PER_CONNECTION) {
    const ws = new WebSocket(`${url}?user_id=patterns${first}`);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const last = Math.min(count, first + PER_CONNECTION);
    let acked = 0;
    const done = new Promise((resolve, reject) => ws.on('message', (raw) => {
      const message = JSON.parse(raw);
      if (message.type === 'error') reject(new Error(`pattern refused: ${raw}`));
      if (message.type === 'subscribe' && ++acked === last - first) resolve();
    }));
    for (let i = first; i < last; i++) {
      ws.send(JSON.stringify({ type: 'subscribe', topic: i % 2 ? `p${i}.*` : `bench.*.q${i}.>`, id: i }));
    }
    await done;
    sockets.push(ws);
  }
  return sockets;
}

function fanout(url, pid) {
  const [bin, ...rest] = [...pin(1), LOADGEN, '--sub', url, '--subscribers', String(SUBSCRIBERS), '--window', '16',
    '--seconds', String(SECONDS), '--server-pid', String(pid)];
  let text = '';
  try {
    text = execFileSync(bin, rest, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120000 });
  } catch (e) {
    text = e.stdout || '';
  }
  return JSON.parse(text.trim().split('\n').pop());
}

async function main() {
  const result = { subscribers: SUBSCRIBERS, window: 16, repeat: REPEAT, deliveries_per_s: {}, runs: {} };
  for (const count of PATTERN_COUNTS) {
    const values = [];
    for (let run = 0; run < REPEAT; run++) {
      const server = await startServer();
      const sockets = await holdPatterns(server.url, count);
      const r = fanout(server.url, server.child.pid);
      if (r.lost > 0 || r.out_of_order > 0 || r.error) throw new Error(`K=${count}: ${JSON.stringify(r).slice(0, 300)}`);
      values.push(r.deliveries_per_s);
      for (const ws of sockets) ws.terminate();
      await new Promise((resolve) => { server.child.once('exit', resolve); server.child.kill('SIGTERM'); });
    }
    const sorted = [...values].sort((a, b) => a - b);
    result.deliveries_per_s[count] = Math.round(sorted[Math.floor((sorted.length - 1) / 2)]);
    result.runs[count] = values.map(Math.round);
    process.stderr.write(`  ${count} pattern subscriptions: ${result.deliveries_per_s[count]} deliveries/s (runs ${result.runs[count].join(', ')})\n`);
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((error) => { console.error(error); process.exit(1); });
