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
//
//   node bench/documents.js [--smoke] [--store sqlite|memory] [--json FILE]
// NATSYNC_BIN picks the binary (default build/natsync).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
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

async function startServer() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'natsync-bench-documents-'));
  const child = spawn(BIN, [], {
    env: { ...process.env, LISTEN_ADDR: '127.0.0.1:0', DOCUMENT_TOPICS: 'doc.>', DOCUMENT_STORE: store, DATA_DIR: dataDir,
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
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
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
