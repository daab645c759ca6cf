#!/usr/bin/env node
// Shared documents (docs/documents.md), natsync only (none of its peers has them):
//   throughput  acknowledged patches a second, WINDOW in flight per writer connection,
//               on one document and spread over 1,000 documents;
//   latency     one writer, one patch at a time: ack latency p50/p99 (each ack waits
//               for its transaction to be on disk: an fsync with DOCUMENT_STORE=sqlite);
//   snapshot    a 100 KiB document, 1,000 connections subscribing at once: time from
//               the first subscribe to the last snapshot received.
// Every run starts a fresh server with DATA_DIR in the system's temp directory (where
// that directory's disk is decides the fsync cost: the note of a run says which).
// --store jetstream: the node in cluster mode on nats-server with JetStream (1 server,
// 1 replica); jetstream3: on 3 routed servers, 3 replicas (every ack waits for a quorum).
//
//   node bench/documents.js [--smoke] [--store sqlite|memory|jetstream|jetstream3] [--json FILE]
// NATSYNC_BIN picks the binary (default build/natsync).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require(path.join(__dirname, '../tests/e2e/node_modules/ws'));

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const smoke = args.includes('--smoke');
const store = option('--store', 'sqlite');
const BIN = process.env.NATSYNC_BIN || path.join(__dirname, '../build/natsync');
const SECONDS = smoke ? 0.5 : 5;
const WRITERS = 8;
const WINDOW = 32;
const SUBSCRIBERS = smoke ? 50 : 1000;

const freePort = () => new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
});

// nats-server(s) with JetStream in one temp directory; resolves once each listens.
async function startJetStream(size) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsync-bench-js-'));
  const ports = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), route: await freePort() });
  const children = ports.map((p, i) => {
    const args = ['-a', '127.0.0.1', '-p', String(p.client), '-js', '-sd', path.join(dir, `s${i}`), '-n', `b${i}`];
    if (size > 1) {
      args.push('--cluster', `nats://127.0.0.1:${p.route}`, '--cluster_name', 'bench',
        '--routes', ports.filter((_, j) => j !== i).map((q) => `nats://127.0.0.1:${q.route}`).join(','));
    }
    return spawn('nats-server', args, { stdio: 'ignore' });
  });
  const listening = (port) => new Promise((resolve) => {
    const attempt = () => net.connect(port, '127.0.0.1').once('connect', function () { this.destroy(); resolve(); })
      .once('error', () => setTimeout(attempt, 50));
    attempt();
  });
  await Promise.all(ports.map((p) => listening(p.client)));
  return {
    urls: ports.map((p) => `nats://127.0.0.1:${p.client}`).join(','),
    async stop() {
      await Promise.all(children.map((child) => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); })));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const jetstreamSize = { jetstream: 1, jetstream3: 3 }[store] ?? 0;
let runs = 0;

async function startServer() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsync-bench-documents-'));
  const nats = jetstreamSize ? await startJetStream(jetstreamSize) : null;
  const cluster = nats ? { NATS_URL: nats.urls, NATS_SUBJECT_PREFIX: `bench${runs++}`, HISTORY_REPLICAS: String(jetstreamSize) } : {};
  const child = spawn(BIN, [], {
    env: { ...process.env, ...cluster, LISTEN_ADDR: '127.0.0.1:0', DOCUMENT_TOPICS: 'doc.>', DOCUMENT_STORE: nats ? 'sqlite' : store, DATA_DIR: dataDir,
      WS_MESSAGE_RATE: '0', LOG_LEVEL: 'info', DOCUMENT_MAX_BYTES: String(1 << 20), WS_MAX_MESSAGE_SIZE: String(1 << 20), WS_MAX_QUEUE_BYTES: String(4 << 20) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const port = await new Promise((resolve, reject) => {
    const onData = (d) => {
      output += d;
      const match = /listening on [^\s]+:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`natsync exited ${code}: ${output}`)));
  });
  // In a cluster the documents are ready once the node has set up its stream.
  while (nats && !/documents in JetStream stream/.test(output)) await new Promise((r) => setTimeout(r, 50));
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      if (nats) await nats.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function open(port, user) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/sync?user_id=${user}`);
    ws.once('message', () => resolve(ws));  // connect
    ws.once('error', reject);
  });
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

// Each writer keeps WINDOW patches in flight; topicOf(i) picks the document of patch i.
async function throughput(port, topicOf) {
  const writers = await Promise.all(Array.from({ length: WRITERS }, (_, w) => open(port, `w${w}`)));
  let acked = 0;
  let errors = 0;
  let next = 0;
  const end = Date.now() + SECONDS * 1000;
  const started = Date.now();
  await Promise.all(writers.map((ws) => new Promise((resolve) => {
    let inFlight = 0;
    const send = () => {
      while (inFlight < WINDOW && Date.now() < end) {
        const i = next++;
        ws.send(JSON.stringify({ type: 'patch', topic: topicOf(i), id: i, data: { n: i, by: 'bench' } }));
        inFlight++;
      }
      if (inFlight === 0) resolve();
    };
    ws.on('message', (raw) => {
      const message = JSON.parse(String(raw));
      if (message.id === undefined) return;
      if (message.type === 'patch') acked++;
      else errors++;
      inFlight--;
      send();
    });
    send();
  })));
  const seconds = (Date.now() - started) / 1000;
  for (const ws of writers) ws.terminate();
  return { patches_per_s: Math.round(acked / seconds), acked, errors };
}

async function latency(port) {
  const ws = await open(port, 'latency');
  const samples = [];
  const count = smoke ? 100 : 2000;
  for (let i = 0; i < count; i++) {
    const began = process.hrtime.bigint();
    await new Promise((resolve) => {
      ws.once('message', resolve);
      ws.send(JSON.stringify({ type: 'patch', topic: 'doc.latency', id: i, data: { n: i } }));
    });
    samples.push(Number(process.hrtime.bigint() - began) / 1000);
  }
  ws.terminate();
  samples.sort((a, b) => a - b);
  return { p50_us: Math.round(percentile(samples, 50)), p99_us: Math.round(percentile(samples, 99)), samples: count };
}

async function snapshot(port) {
  const writer = await open(port, 'writer');
  const big = { items: Array.from({ length: 1000 }, (_, i) => ({ id: i, text: 'x'.repeat(80) })) };
  await new Promise((resolve) => {
    writer.once('message', resolve);
    writer.send(JSON.stringify({ type: 'patch', topic: 'doc.big', id: 1, data: big, replace: true }));
  });
  const bytes = JSON.stringify(big).length;
  const subscribers = [];
  for (let i = 0; i < SUBSCRIBERS; i += 100) {
    subscribers.push(...await Promise.all(Array.from({ length: Math.min(100, SUBSCRIBERS - i) }, (_, j) => open(port, `s${i + j}`))));
  }
  const received = Promise.all(subscribers.map((ws) => new Promise((resolve) => {
    ws.on('message', (raw) => { if (raw.length > 1000 && String(raw).startsWith('{"type":"snapshot"')) resolve(); });
  })));
  const began = process.hrtime.bigint();
  for (const ws of subscribers) ws.send('{"type":"subscribe","topic":"doc.big"}');
  await received;
  const ms = Number(process.hrtime.bigint() - began) / 1e6;
  for (const ws of [writer, ...subscribers]) ws.terminate();
  return { document_bytes: bytes, subscribers: SUBSCRIBERS, ms: Math.round(ms) };
}

async function main() {
  const result = { store, writers: WRITERS, window: WINDOW, seconds: SECONDS };
  for (const [name, run] of [
    ['one_document', (port) => throughput(port, () => 'doc.one')],
    ['1000_documents', (port) => throughput(port, (i) => `doc.d${i % 1000}`)],
    ['latency', latency],
    ['snapshot', snapshot],
  ]) {
    const server = await startServer();
    try {
      result[name] = await run(server.port);
    } finally {
      await server.stop();
    }
    process.stderr.write(`documents ${name}: ${JSON.stringify(result[name])}\n`);
  }
  const out = option('--json', '');
  if (out) fs.writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
