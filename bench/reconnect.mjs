#!/usr/bin/env node
// How fast natsync-client brings many clients back after a server restart, and how hard
// they hit the server meanwhile (issue: the SDK's reconnect figures). CLIENTS SDK
// clients (Node, npm `ws`), each subscribed to one of 10 durable topics and one of 10
// documents (SQLite, so the documents outlive the restart), are connected; the server
// is stopped (SIGTERM: `disconnect` with reconnect:true, close 1001) and started again
// on the same port after DOWN_MS. Measured from the moment the new process listens:
//   - time until every client is connected, and until every subscription is acked and
//     every document is synced again (p50/p99/max per client, and all);
//   - connection attempts in all, and the most in any 100 ms (the server's load);
//   - the new server's CPU time over the reconnect and its RSS after.
//
//   node bench/reconnect.mjs [--clients 1000] [--down-ms 1000] [--smoke] [--json FILE]
// NATSYNC_BIN picks the binary (default build/natsync).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { createClient } from '../clients/js/src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const WebSocket = require(path.join(here, '../clients/js/node_modules/ws'));
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const smoke = args.includes('--smoke');
const CLIENTS = Number(option('--clients', smoke ? 50 : 1000));
const DOWN_MS = Number(option('--down-ms', 1000));
const BIN = process.env.NATSYNC_BIN || path.join(here, '../build/natsync');
const TICK = 10;  // ms per clock tick in /proc/PID/stat (USER_HZ is 100 on Linux)

const freePort = () => new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

function startServer(port, dataDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, [], {
      env: { ...process.env, LISTEN_ADDR: `127.0.0.1:${port}`, WORKER_THREADS: String(os.cpus().length), LOG_LEVEL: 'info',
        DURABLE_TOPICS: 'd.>', DOCUMENT_TOPICS: 'b.>', DATA_DIR: dataDir, MAX_CONNECTIONS_PER_IP: '0',
        CONNECTION_RATE_PER_IP: '0', WS_MESSAGE_RATE: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      if (/listening on/.test(output)) resolve({ child, listeningAt: performance.now() });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`natsync exited ${code}: ${output.slice(-2000)}`)));
  });
}

const cpuMs = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK;
};
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

const port = await freePort();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsync-bench-reconnect-'));
let server = await startServer(port, dataDir);
const url = `ws://127.0.0.1:${port}/ws/sync`;

const attempts = [];
const clients = [];
for (let i = 0; i < CLIENTS; i++) {
  const client = createClient(`${url}?user_id=u${i}`, { WebSocket, connectTimeout: 30000 });
  client.on('state', ({ to }) => { if (to === 'connecting') attempts.push(performance.now()); });
  client.on('error', () => {});
  const sub = client.subscribe(`d.room${i % 10}`);
  const doc = client.document(`b.doc${i % 10}`);
  clients.push({ client, sub, doc });
  if (i % 100 === 99) await sleep(20);  // connect at a pace the accept queue takes
}
await Promise.all(clients.flatMap(({ sub, doc }) => [sub.ready, doc.ready]));
await clients[0].doc.patch({ started: true });

// Restart: every client is told reconnect:true and goes to its backoff.
await new Promise((resolve) => { server.child.once('exit', resolve); server.child.kill('SIGTERM'); });
await sleep(DOWN_MS);
attempts.length = 0;
server = await startServer(port, dataDir);
const back = server.listeningAt;
const cpuBefore = cpuMs(server.child.pid);
const done = new Array(CLIENTS).fill(0);
const connected = new Array(CLIENTS).fill(0);
const deadline = back + 120000;
while (performance.now() < deadline) {
  let pending = 0;
  clients.forEach(({ client, sub, doc }, i) => {
    const now = performance.now();
    if (!connected[i] && client.state === 'connected') connected[i] = now - back;
    if (!done[i] && client.state === 'connected' && sub.state === 'subscribed' && doc.synced) done[i] = now - back;
    if (!done[i]) pending++;
  });
  if (pending === 0) break;
  await sleep(5);
}
const cpu = cpuMs(server.child.pid) - cpuBefore;
const resubscribed = [...done].sort((a, b) => a - b);
const connects = [...connected].sort((a, b) => a - b);
const perWindow = new Map();
for (const t of attempts) perWindow.set(Math.floor((t - back) / 100), (perWindow.get(Math.floor((t - back) / 100)) ?? 0) + 1);
const result = {
  clients: CLIENTS,
  down_ms: DOWN_MS,
  all_resubscribed: resubscribed.every((t) => t > 0),
  connected_ms: { p50: percentile(connects, 50), p99: percentile(connects, 99), max: connects.at(-1) },
  resubscribed_ms: { p50: percentile(resubscribed, 50), p99: percentile(resubscribed, 99), max: resubscribed.at(-1) },
  attempts: attempts.length,
  attempts_max_per_100ms: Math.max(0, ...perWindow.values()),
  server_cpu_ms: Math.round(cpu),
  server_rss_kib: rssKiB(server.child.pid),
};
for (const { client } of clients) client.close();
await new Promise((resolve) => { server.child.once('exit', resolve); server.child.kill('SIGTERM'); });
fs.rmSync(dataDir, { recursive: true, force: true });
const json = JSON.stringify(result);
if (option('--json')) fs.writeFileSync(option('--json'), json + '\n');
console.log(json);
if (!result.all_resubscribed) process.exitCode = 1;
