#!/usr/bin/env node
// The A/B a change on the message path comes with: two natsync binaries, the fan-out of
// bench/compare (1 topic x 1,000 subscribers, 64 B, 3 s; server on core 0 with one worker,
// load generator on core 1) at each window, interleaved (A, B, A, B, …) ROUNDS times so
// that the machine's drift hits both alike. Prints thousands of deliveries/s per run.
//
//   node bench/ab.js BIN_A BIN_B [--windows 4,8,16] [--rounds 3]
'use strict';
const { startServer, fanout } = require('./lib/fanout');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const [binA, binB] = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
if (!binA || !binB) {
  console.error('usage: node bench/ab.js BIN_A BIN_B [--windows 4,8,16] [--rounds 3]');
  process.exit(2);
}
const windows = option('--windows', '4,8,16').split(',').map(Number);
const rounds = Number(option('--rounds', '3'));

async function main() {
  const results = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, bin] of [['A', binA], ['B', binB]]) {
      for (const window of windows) {
        const server = await startServer({}, bin);
        const r = await fanout(server.url, server.child.pid, 1000, 3, window);
        await server.stop();
        if (r.error || r.lost > 0 || r.out_of_order > 0) throw new Error(`${name} w=${window}: ${JSON.stringify(r).slice(0, 300)}`);
        (results[`w=${window} ${name}`] ??= []).push(Math.round(r.deliveries_per_s / 1000));
      }
    }
  }
  console.log(`A = ${binA}\nB = ${binB}`);
  for (const window of windows) {
    for (const name of ['A', 'B']) console.log(`w=${window} ${name}: ${results[`w=${window} ${name}`].join(', ')} k deliveries/s`);
  }
}

main().catch((error) => { console.error(error); process.exit(1); });
