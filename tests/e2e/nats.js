// Real nats-server processes for the cluster tests: one server, or a cluster of
// several with routes, on free loopback ports. Output goes to files (a pipe left
// open would keep the test runner waiting).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { track } = require('./children');

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
// Without a given port, a port taken before it listens is retried on another.
async function startNats(options = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsOn(options.port || await freePort(), options);
    } catch (error) {
      if (options.port || attempt === 3) throw error;
    }
  }
}

async function startNatsOn(port, { clusterPort, routes = [], name, jetstream = false, monitor = false }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsync-nats-'));
  const logFile = path.join(dir, 'nats.log');
  const server = {
    dir,
    port,
    clusterPort,
    url: `nats://127.0.0.1:${port}`,
    proc: null,
    log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
    monitorPort: monitor ? await freePort() : 0,
    // With `monitor`: the server's /varz (in_msgs, out_msgs, …), to count NATS messages.
    async varz() { return (await fetch(`http://127.0.0.1:${server.monitorPort}/varz`)).json(); },
    async start() {
      const args = ['-a', '127.0.0.1', '-p', String(port), '-l', logFile, '-n', name || `n${port}`];
      if (server.monitorPort) args.push('-m', String(server.monitorPort));
      if (clusterPort) args.push('--cluster', `nats://127.0.0.1:${clusterPort}`, '--cluster_name', 'natsync-test');
      if (routes.length) args.push('--routes', routes.join(','));
      if (jetstream) args.push('-js', '-sd', path.join(dir, 'store'));
      const proc = track(spawn(NATS_BIN, args, { stdio: 'ignore' }));
      server.proc = proc;
      // It exits at once when it cannot listen (a port taken since freePort chose it).
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      const opened = await Promise.race([waitForPort(port).then(() => true), exited.then(() => false)])
        .catch((error) => { proc.kill('SIGKILL'); throw error; });
      if (!opened) throw new Error(`nats-server on port ${port} exited before listening:\n${server.log().slice(-2000)}`);
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

// A cluster of `size` servers, fully routed to each other. A port chosen free can be
// taken before nats-server listens on it (by any connection's ephemeral port): then
// every server started is removed and the cluster tried again on new ports.
async function startNatsCluster(size, { jetstream = false } = {}) {
  for (let attempt = 1; ; attempt++) {
    const ports = [];
    for (let i = 0; i < size; i++) ports.push({ port: await freePort(), clusterPort: await freePort() });
    const routes = ports.map((p) => `nats://127.0.0.1:${p.clusterPort}`);
    const started = ports.map((p, i) => startNats({ ...p, routes: routes.filter((_, j) => j !== i), name: `c${i}`, jetstream }));
    const results = await Promise.allSettled(started);
    const failure = results.find((r) => r.status === 'rejected');
    if (!failure) return results.map((r) => r.value);
    for (const r of results) if (r.status === 'fulfilled') await r.value.remove();
    if (attempt === 3) throw failure.reason;
  }
}

module.exports = { startNats, startNatsCluster, freePort };
