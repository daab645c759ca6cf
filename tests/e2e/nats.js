// Real nats-server processes for the cluster tests: one server, or a cluster of
// several with routes, on free loopback ports. Output goes to files (a pipe left
// open would keep the test runner waiting).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const NATS_BIN = process.env.NATS_SERVER_BIN || 'nats-server';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
  });
}

function waitForPort(port, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(); });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > end) reject(new Error(`nats-server did not open port ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

// Starts one nats-server; `routes` joins it to a cluster. Restartable on the same port.
// `jetstream`: with JetStream, its store in a fresh directory (kept across restarts).
async function startNats({ port, clusterPort, routes = [], name, jetstream = false } = {}) {
  port = port || await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsync-nats-'));
  const logFile = path.join(dir, 'nats.log');
  const server = {
    dir,
    port,
    clusterPort,
    url: `nats://127.0.0.1:${port}`,
    proc: null,
    log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
    async start() {
      const args = ['-a', '127.0.0.1', '-p', String(port), '-l', logFile, '-n', name || `n${port}`];
      if (clusterPort) args.push('--cluster', `nats://127.0.0.1:${clusterPort}`, '--cluster_name', 'natsync-test');
      if (routes.length) args.push('--routes', routes.join(','));
      if (jetstream) args.push('-js', '-sd', path.join(dir, 'store'));
      server.proc = spawn(NATS_BIN, args, { stdio: 'ignore' });
      await waitForPort(port);
      return server;
    },
    async stop(signal = 'SIGTERM') {
      const proc = server.proc;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
    // Stops it and deletes its directory (log and JetStream store).
    async remove() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return server.start();
}

// A cluster of `size` servers, fully routed to each other.
async function startNatsCluster(size, { jetstream = false } = {}) {
  const ports = [];
  for (let i = 0; i < size; i++) ports.push({ port: await freePort(), clusterPort: await freePort() });
  const routes = ports.map((p) => `nats://127.0.0.1:${p.clusterPort}`);
  const servers = await Promise.all(ports.map((p, i) => startNats({ ...p, routes: routes.filter((_, j) => j !== i), name: `c${i}`, jetstream })));
  return servers;
}

module.exports = { startNats, startNatsCluster, freePort };
