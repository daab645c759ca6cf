#!/usr/bin/env node
// Soak: for --seconds (default 60) churns thousands of WebSocket connections through a
// real natsync — connecting, subscribing, unsubscribing, syncing, receiving REST
// publishes and broadcasts, some closing politely, some vanishing mid-stream, some sending
// garbage — then closes everything and checks that the server's RSS, open descriptors and
// status counters come back to where they were after a warm-up round. Exits 1 if not.
//
//   node tests/soak/soak.js [--seconds 60] [--concurrent 800] [--json FILE]
// NATSYNC_BIN picks the server (default build/natsync).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const { startServer, sleep } = require(path.join(__dirname, '../e2e/harness'));
const WebSocket = require(path.join(__dirname, '../e2e/node_modules/ws'));

const args = process.argv.slice(2);
const option = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : fallback; };
const SECONDS = Number(option('--seconds', '60'));
const CONCURRENT = Number(option('--concurrent', '800'));
const jsonOut = option('--json');
const TOPICS = 300;

const stats = { opened: 0, refused: 0, closed: 0, killed: 0, subscribes: 0, unsubscribes: 0, syncs: 0, garbage: 0, received: 0, rest: 0, errors: 0 };
const pick = (n) => Math.floor(Math.random() * n);

function fdCount(pid) { return fs.readdirSync(`/proc/${pid}/fd`).length; }

// HTTP without keep-alive (agent: false), so no idle connection of ours is counted among
// the server's descriptors at the end.
function request(url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: body ? 'POST' : 'GET', agent: false, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}
async function status(server) { return JSON.parse((await request(`${server.http}/api/sync/status`)).text); }

// One client's life: connect, do a few things for a random while, leave one of three ways.
function live(server, stop) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${server.ws}?user_id=u${pick(CONCURRENT * 2)}`);
    let timer;
    const done = () => { clearTimeout(timer); resolve(); };
    ws.on('error', () => {});
    ws.on('unexpected-response', () => { stats.refused++; done(); });
    ws.on('close', done);
    ws.on('message', (data) => {
      stats.received++;
      if (String(data).includes('"type":"error"') && !String(data).includes('invalid_json')) stats.errors++;
    });
    ws.on('open', () => {
      stats.opened++;
      const mine = [];
      const act = () => {
        if (stop() || ws.readyState !== WebSocket.OPEN) return finish();
        const roll = Math.random();
        if (roll < 0.35) { const t = `soak.t${pick(TOPICS)}`; mine.push(t); ws.send(JSON.stringify({ type: 'subscribe', topic: t })); stats.subscribes++; }
        else if (roll < 0.5 && mine.length) { ws.send(JSON.stringify({ type: 'unsubscribe', topic: mine.pop() })); stats.unsubscribes++; }
        else if (roll < 0.9) { ws.send(JSON.stringify({ type: 'sync', topic: `soak.t${pick(TOPICS)}`, data: { n: pick(1e6), pad: 'x'.repeat(pick(200)) } })); stats.syncs++; }
        else if (roll < 0.93) { ws.send('{"type":'); stats.garbage++; }
        else return finish();
        timer = setTimeout(act, 20 + pick(200));
      };
      const finish = () => {
        clearTimeout(timer);
        if (Math.random() < 0.2) { ws.terminate(); stats.killed++; done(); } // vanishes: no close frame
        else { ws.close(); stats.closed++; }
      };
      timer = setTimeout(act, pick(100));
    });
  });
}

async function churn(server, seconds) {
  const deadline = Date.now() + seconds * 1000;
  const stop = () => Date.now() >= deadline;
  const lanes = Array.from({ length: CONCURRENT }, async () => { while (!stop()) await live(server, stop); });
  const publisher = (async () => {
    while (!stop()) {
      const broadcast = Math.random() < 0.05;
      const url = `${server.http}/api/sync/${broadcast ? 'broadcast' : 'publish'}`;
      await request(url, broadcast ? { data: { b: 1 } } : { topic: `soak.t${pick(TOPICS)}`, data: { rest: pick(1e6) } }).catch(() => {});
      stats.rest++;
      await sleep(5);
    }
  })();
  await Promise.all([...lanes, publisher]);
}

async function settle(server) {
  for (let i = 0; i < 100; i++) {
    const s = await status(server);
    if (s.connections === 0 && s.clients === 0) return s;
    await sleep(100);
  }
  return status(server);
}

async function main() {
  const server = await startServer({ WORKER_THREADS: '2', WS_MESSAGE_RATE: '0' }, { single: true });
  const pid = server.proc.pid;
  try {
    // Warm-up: the allocator's pools and the workers' tables reach their working size.
    await churn(server, Math.min(10, SECONDS / 4));
    const warm = await settle(server);
    await sleep(500);
    const before = { rssKiB: server.rssKiB(), fds: fdCount(pid), connections: warm.connections, clients: warm.clients };
    const started = Date.now();
    let peak = { rssKiB: before.rssKiB, connections: 0 };
    const sampler = setInterval(async () => {
      const s = await status(server).catch(() => null);
      peak = { rssKiB: Math.max(peak.rssKiB, server.rssKiB()), connections: Math.max(peak.connections, s ? s.connections : 0) };
    }, 500);
    await churn(server, SECONDS);
    clearInterval(sampler);
    const end = await settle(server);
    await sleep(1000);
    const after = { rssKiB: server.rssKiB(), fds: fdCount(pid), connections: end.connections, clients: end.clients };
    const report = { seconds: (Date.now() - started) / 1000, concurrent: CONCURRENT, before, peak, after, stats };
    console.log(JSON.stringify(report, null, 1));
    const problems = [];
    if (after.connections !== 0 || after.clients !== 0) problems.push(`status did not return to zero: ${JSON.stringify(end)}`);
    if (after.fds !== before.fds) problems.push(`open descriptors ${before.fds} -> ${after.fds}`);
    // RSS may keep what the allocator holds for reuse, but must not grow with the run.
    const allowedKiB = Math.max(16 * 1024, before.rssKiB * 0.5);
    if (after.rssKiB - before.rssKiB > allowedKiB) problems.push(`RSS ${before.rssKiB} -> ${after.rssKiB} KiB (more than ${allowedKiB} KiB above)`);
    if (stats.errors) problems.push(`${stats.errors} unexpected error replies`);
    if (server.proc.exitCode !== null) problems.push('the server died');
    if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ ...report, problems }, null, 1));
    await server.stopClean();
    if (problems.length) {
      console.error(`soak: FAILED\n  ${problems.join('\n  ')}`);
      process.exit(1);
    }
    console.log(`soak: OK — ${stats.opened} connections over ${report.seconds.toFixed(0)} s (peak ${peak.connections} at once), ` +
      `RSS ${before.rssKiB} -> ${after.rssKiB} KiB (peak ${peak.rssKiB}), fds ${before.fds} -> ${after.fds}, connections ${after.connections}`);
  } catch (err) {
    await server.stop('SIGKILL');
    throw err;
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
