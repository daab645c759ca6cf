// Starts the real natsync binary on a free loopback port and gives tests real
// third-party clients (npm `ws`, Node's fetch, raw sockets) to drive it with.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const fs = require('node:fs');
const WebSocket = require('ws');
const { track } = require('./children');

const BIN = process.env.NATSYNC_BIN || path.resolve(__dirname, '../../build/natsync');

// NATSYNC_E2E_NATS_URL set: every server a test starts is a 2-node natsync cluster on
// that NATS, behind a round-robin TCP proxy, so the whole suite runs against a cluster
// (tests whose figures are per node skip themselves: see `CLUSTER`).
const CLUSTER_NATS = process.env.NATSYNC_E2E_NATS_URL || '';
const CLUSTER = CLUSTER_NATS !== '';
let clusterCounter = 0;

function startServer(env = {}, options = {}) {
  if (!CLUSTER || env.NATS_URL || options.single) return startNode(env, options);
  return startClusterBehindProxy(env, options);
}

async function startClusterBehindProxy(env, options) {
  const prefix = `suite${process.pid}x${clusterCounter++}`;
  const nodeEnv = { NATS_URL: CLUSTER_NATS, NATS_SUBJECT_PREFIX: prefix, ...env };
  const nodes = await Promise.all([startNode({ ...nodeEnv, NODE_ID: `${prefix}-1` }, options),
    startNode({ ...nodeEnv, NODE_ID: `${prefix}-2` }, options)]);
  let next = 0;
  const sockets = new Set();
  const proxy = net.createServer((client) => {
    const node = nodes[next++ % nodes.length];
    const upstream = net.connect(node.port, '127.0.0.1');
    sockets.add(client); sockets.add(upstream);
    client.pipe(upstream); upstream.pipe(client);
    const end = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('error', end); upstream.on('error', end); client.on('close', end); upstream.on('close', end);
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  const port = proxy.address().port;
  return {
    nodes,
    proc: nodes[0].proc,
    port,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ws/sync`,
    output: () => nodes.map((n) => n.output()).join(''),
    rssKiB: () => nodes.reduce((sum, n) => sum + n.rssKiB(), 0),
    async stop(signal = 'SIGTERM') {
      const codes = await Promise.all(nodes.map((n) => n.stop(signal)));
      proxy.close();
      for (const socket of sockets) socket.destroy();
      return codes.find((c) => c !== 0) ?? 0;
    },
    async stopClean() {
      try {
        await Promise.all(nodes.map((n) => n.stopClean()));
      } finally {
        // Also when a node failed to stop: an open proxy would keep the test file alive
        // until the suite's time limit.
        proxy.close();
        for (const socket of sockets) socket.destroy();
      }
    },
  };
}

// Starts one natsync process; resolves once it logs the port it listens on.
function startNode(env = {}, { bin = BIN, args = [] } = {}) {
  return new Promise((resolve, reject) => {
    const proc = track(spawn(bin, args, {
      env: { ...process.env, LISTEN_ADDR: '127.0.0.1:0', WORKER_THREADS: '2', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    let output = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error('server did not start:\n' + output)); }, 10000);
    const onData = (chunk) => {
      output += chunk;
      const match = /listening on ([^\s]+):(\d+)/.exec(output);
      if (match && !server.port) {
        clearTimeout(timer);
        server.port = Number(match[2]);
        const tls = Boolean(env.TLS_CERT_FILE);
        if (tls) server.ca = fs.readFileSync(env.TLS_CERT_FILE);  // self-signed: trust it
        server.http = `${tls ? 'https' : 'http'}://127.0.0.1:${server.port}`;
        server.ws = `${tls ? 'wss' : 'ws'}://127.0.0.1:${server.port}/ws/sync`;
        resolve(server);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => { clearTimeout(timer); if (!server.port) reject(new Error(`server exited ${code}:\n${output}`)); });
    const server = {
      proc,
      port: 0,
      output: () => output,
      rssKiB: () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8'))[1]),
      async stop(signal = 'SIGTERM') {
        if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
        const exited = new Promise((res) => proc.once('exit', (code, sig) => res(code ?? sig)));
        proc.kill(signal);
        const killer = setTimeout(() => proc.kill('SIGKILL'), 10000);
        const code = await exited;
        clearTimeout(killer);
        return code;
      },
      // Stops with SIGTERM and fails unless the process exited 0: under the sanitizer
      // build a leak or undefined behaviour turns into a non-zero exit here.
      async stopClean() {
        const code = await server.stop('SIGTERM');
        if (code !== 0) {
          const report = output.indexOf('ERROR: ');
          throw new Error(`server exited with ${code}:\n${report >= 0 ? output.slice(report, report + 6000) : output.slice(-4000)}`);
        }
      },
    };
  });
}

// A self-signed certificate for 127.0.0.1 and localhost, made now by the openssl CLI
// (Debian's openssl package): { dir, cert, key, pem } (paths, and the certificate's
// text for a client's `ca`). `keyType` 'ec' (P-256) or 'rsa' (2048).
function makeCertificate({ keyType = 'ec', commonName = 'natsync-test' } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsync-tls-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const keyArgs = keyType === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  execFileSync('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', `/CN=${commonName}`, '-addext', 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost'], { stdio: 'pipe' });
  return { dir, cert, key, pem: fs.readFileSync(cert) };
}

// A WebSocket client that records every message and lets a test wait for one.
class Client {
  constructor(url, options = {}) {
    this.messages = [];  // received and not yet taken by next()
    this.seen = [];  // everything received, in order
    this.waiters = [];
    this.ws = new WebSocket(url, options);
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    this.ws.on('error', () => {});
    this.ws.on('message', (data, isBinary) => {
      const text = String(data);
      let message;
      try { message = JSON.parse(text); } catch { message = { unparsed: text, isBinary }; }
      this.messages.push(message);
      this.seen.push(message);
      this.waiters = this.waiters.filter((w) => !(w.match(message) && (w.resolve(message), true)));
    });
  }

  static async open(url, options) {
    const client = new Client(url, options);
    await new Promise((resolve, reject) => {
      client.ws.once('open', resolve);
      client.ws.once('unexpected-response', (req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      client.ws.once('error', reject);
    });
    return client;
  }

  send(message) { this.ws.send(typeof message === 'string' ? message : JSON.stringify(message)); }

  // Resolves with the first message (already received or future) that `match` accepts.
  next(match = () => true, timeoutMs = 5000) {
    if (typeof match === 'string') { const type = match; match = (m) => m.type === type; }
    const seen = this.messages.find(match);
    if (seen) { this.messages.splice(this.messages.indexOf(seen), 1); return Promise.resolve(seen); }
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (m) => { clearTimeout(timer); this.messages.splice(this.messages.indexOf(m), 1); resolve(m); } };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages).slice(0, 500)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  async request(message, timeoutMs) {
    const id = message.id ?? `r${Math.random().toString(36).slice(2)}`;
    this.send({ ...message, id });
    return this.next((m) => m.id === id, timeoutMs);
  }

  close() { this.ws.close(); return this.closed; }
  terminate() { this.ws.terminate(); }
}

async function postJson(url, body, headers = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  let json; try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: response.status, json, text };
}

// In cluster mode the figures of both nodes, added up (clients then counts a user
// once per node it is on).
async function getStatus(server) {
  if (server.ca) return getJsonOverTls(`${server.http}/api/sync/status`, server.ca);
  if (!server.nodes) return (await fetch(`${server.http}/api/sync/status`)).json();
  const all = await Promise.all(server.nodes.map(async (n) => (await fetch(`${n.http}/api/sync/status`)).json()));
  return { ...all[0], clients: all.reduce((s, x) => s + x.clients, 0), connections: all.reduce((s, x) => s + x.connections, 0) };
}

// GET over https trusting `ca` (fetch cannot be given a CA).
function getJsonOverTls(url, ca) {
  return new Promise((resolve, reject) => {
    require('node:https').get(url, { ca }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => { try { resolve(JSON.parse(text)); } catch (e) { reject(e); } });
    }).on('error', reject);
  });
}

// Sends raw bytes on a TCP connection and returns everything the server answers.
function rawExchange(port, bytes, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const done = () => { socket.destroy(); resolve(received); };
    socket.setTimeout(timeoutMs, done);
    socket.on('data', (d) => { received += d.toString('latin1'); });
    socket.on('end', done);
    socket.on('error', done);
    socket.on('connect', () => socket.write(bytes));
  });
}

async function waitFor(predicate, timeoutMs = 5000, stepMs = 20) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = { BIN, CLUSTER, startServer, makeCertificate, Client, postJson, getStatus, rawExchange, waitFor, sleep, WebSocket };
