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
const path = require('node:path');
const WebSocket = require(path.join(__dirname, '../tests/e2e/node_modules/ws'));
const { startServer, fanout, median, benchOptions } = require('./lib/fanout');

const { smoke, repeat: REPEAT } = benchOptions();
const SUBSCRIBERS = smoke ? 50 : 1000;
const SECONDS = smoke ? 0.5 : 3;
const PATTERN_COUNTS = [0, 100, 10000];
const PER_CONNECTION = 1000;

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

async function main() {
  const result = { subscribers: SUBSCRIBERS, window: 16, repeat: REPEAT, deliveries_per_s: {}, runs: {} };
  for (const count of PATTERN_COUNTS) {
    const values = [];
    for (let run = 0; run < REPEAT; run++) {
      const server = await startServer();
      const sockets = await holdPatterns(server.url, count);
      const r = await fanout(server.url, server.child.pid, SUBSCRIBERS, SECONDS);
      if (r.lost > 0 || r.out_of_order > 0 || r.error) throw new Error(`K=${count}: ${JSON.stringify(r).slice(0, 300)}`);
      values.push(r.deliveries_per_s);
      for (const ws of sockets) ws.terminate();
      await server.stop();
    }
    result.deliveries_per_s[count] = Math.round(median(values));
    result.runs[count] = values.map(Math.round);
    process.stderr.write(`  ${count} pattern subscriptions: ${result.deliveries_per_s[count]} deliveries/s (runs ${result.runs[count].join(', ')})\n`);
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((error) => { console.error(error); process.exit(1); });
