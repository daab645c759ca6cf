// What the natsync-only fan-out benchmarks share (patterns.js, metrics.js): a natsync on
// core 0 with one worker, and natsync_loadgen's fan-out (1 topic x N subscribers, window
// 16, 64 B) on core 1, as bench/compare's fanout scenario.
'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const BIN = process.env.NATSYNC_BIN || path.join(__dirname, '../../build/natsync');
const LOADGEN = process.env.NATSYNC_LOADGEN || path.join(__dirname, '../../build/natsync_loadgen');
const pin = (core) => (os.cpus().length >= 2 ? ['taskset', '-c', String(core)] : []);

const freePort = () => new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
});

async function startServer(env = {}, natsyncBin = BIN) {
  const port = await freePort();
  const [bin, ...rest] = [...pin(0), natsyncBin];
  const child = spawn(bin, rest, {
    env: { ...process.env, LISTEN_ADDR: `127.0.0.1:${port}`, WORKER_THREADS: '1', LOG_LEVEL: 'warn', WS_MESSAGE_RATE: '0',
      MAX_SUBSCRIPTIONS_PER_CONNECTION: '0', ...env },
    stdio: 'ignore',
  });
  for (let i = 0; i < 200; i++) {
    const open = await new Promise((resolve) => net.connect(port, '127.0.0.1')
      .once('connect', function () { this.destroy(); resolve(true); }).once('error', () => resolve(false)));
    if (open) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); });
  return { child, port, http: `http://127.0.0.1:${port}`, url: `ws://127.0.0.1:${port}/ws/sync`, stop };
}

// One fan-out run against `url`; the load generator's JSON result. Async (the event loop
// stays free for whatever runs beside it, a scraper).
function fanout(url, pid, subscribers, seconds, window = 16) {
  const [bin, ...rest] = [...pin(1), LOADGEN, '--sub', url, '--subscribers', String(subscribers), '--window', String(window),
    '--seconds', String(seconds), '--server-pid', String(pid)];
  return new Promise((resolve) => {
    const child = spawn(bin, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => { text += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120000);
    child.on('exit', () => {
      clearTimeout(timer);
      try { resolve(JSON.parse(text.trim().split('\n').pop())); } catch { resolve({ error: `loadgen printed: ${text.slice(-300)}` }); }
    });
  });
}

// --smoke (a short run for CI) and --repeat N (default 3, 1 with --smoke).
function benchOptions(argv = process.argv.slice(2)) {
  const smoke = argv.includes('--smoke');
  const at = argv.indexOf('--repeat');
  return { smoke, repeat: at >= 0 ? Number(argv[at + 1]) : smoke ? 1 : 3 };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

module.exports = { BIN, LOADGEN, startServer, fanout, median, benchOptions };
