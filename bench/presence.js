#!/usr/bin/env node
// Presence across a cluster (docs/cluster.md, Presence), natsync only: 3 nodes on one
// nats-server whose /varz counts what crosses NATS.
//   per join      joins one at a time (200 ms apart): NATS messages and bytes per join;
//   10,000 join   MEMBERS connections (spread over the nodes) subscribe to one topic:
//                 NATS messages and bytes, time until every node counts them all;
//   new node      a 4th node starts while they are members: the full states it gets
//                 (messages, bytes) and the time until it counts them all;
//   reconnect     every member drops and comes back: NATS messages, time to settle, and
//                 what one watching subscriber received;
//   query         GET /api/sync/presence with MEMBERS members: p50 / p99.
//
//   node bench/presence.js [--smoke]
// NATSYNC_BIN picks the binary (default build/natsync).
'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const WebSocket = require(path.join(__dirname, '../tests/e2e/node_modules/ws'));

const smoke = process.argv.includes('--smoke');
const BIN = process.env.NATSYNC_BIN || path.join(__dirname, '../build/natsync');
const MEMBERS = smoke ? 300 : 10000;
const TOPIC = 'room.bench';

const freePort = () => new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];

async function listening(port) {
  for (let i = 0; i < 200; i++) {
    const open = await new Promise((resolve) => net.connect(port, '127.0.0.1')
      .once('connect', function () { this.destroy(); resolve(true); }).once('error', () => resolve(false)));
    if (open) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}`);
}

async function startNats() {
  const [port, monitor] = [await freePort(), await freePort()];
  children.push(spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor)], { stdio: 'ignore' }));
  await listening(port);
  await listening(monitor);
  return {
    url: `nats://127.0.0.1:${port}`,
    varz: async () => (await fetch(`http://127.0.0.1:${monitor}/varz`)).json(),
  };
}

async function startNode(natsUrl, id) {
  const port = await freePort();
  children.push(spawn(BIN, [], {
    env: { ...process.env, LISTEN_ADDR: `127.0.0.1:${port}`, WORKER_THREADS: '1', LOG_LEVEL: 'warn', NATS_URL: natsUrl,
      NODE_ID: id, PRESENCE_TOPICS: 'room.*', MAX_CONNECTIONS_PER_IP: '0' },
    stdio: 'ignore',
  }));
  await listening(port);
  return { ws: `ws://127.0.0.1:${port}/ws/sync`, http: `http://127.0.0.1:${port}` };
}

// A connection subscribed to TOPIC; `messages` collects what it receives when asked.
async function member(node, user, keep = false) {
  const ws = new WebSocket(`${node.ws}?user_id=${user}`);
  ws.messages = [];
  await new Promise((resolve, reject) => {
    ws.on('message', (raw) => {
      const message = JSON.parse(raw);
      if (keep) ws.messages.push(message);
      if (message.type === 'subscribe') resolve();
      if (message.type === 'connect') ws.send(JSON.stringify({ type: 'subscribe', topic: TOPIC, id: 1 }));
    });
    ws.once('error', reject);
  });
  return ws;
}

async function connectAll(nodes, count, offset = 0) {
  const out = [];
  for (let first = 0; first < count; first += 500) {
    const batch = [];
    for (let i = first; i < Math.min(count, first + 500); i++) batch.push(member(nodes[i % nodes.length], `u${offset + i}`));
    out.push(...await Promise.all(batch));
  }
  return out;
}

const count = async (node) => (await (await fetch(`${node.http}/api/sync/presence?topic=${TOPIC}`)).json()).connections;
async function until(nodes, wanted, timeoutMs = 120000) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if ((await Promise.all(nodes.map(count))).every((n) => n === wanted)) return Date.now() - started;
    await sleep(20);
  }
  throw new Error(`presence did not reach ${wanted}`);
}
const natsDelta = (before, after) => ({ messages: after.in_msgs - before.in_msgs, bytes: after.in_bytes - before.in_bytes });

async function main() {
  const nats = await startNats();
  const nodes = await Promise.all(['a', 'b', 'c'].map((id) => startNode(nats.url, `bench-${id}`)));
  await sleep(2500);  // heartbeats: every node knows the others
  const result = { members: MEMBERS, nodes: 3 };

  const watcher = await member(nodes[0], 'watcher', true);
  let before = await nats.varz();
  const single = [];
  for (let i = 0; i < 10; i++) {
    single.push(await member(nodes[1 + (i % 2)], `single${i}`));
    await sleep(200);
  }
  let after = await nats.varz();
  const heartbeats = Math.round((3 * 10 * 200) / 2000);  // every node's, every 2 s
  const perJoin = natsDelta(before, after);
  result.per_join = { nats_messages: (perJoin.messages - heartbeats) / 10, bytes: Math.round(perJoin.bytes / 10) };
  for (const ws of single) ws.terminate();
  await until(nodes, 1);

  before = await nats.varz();
  let started = Date.now();
  let members = await connectAll(nodes, MEMBERS);
  await until(nodes, MEMBERS + 1);
  after = await nats.varz();
  result.mass_join = { ms: Date.now() - started, ...natsDelta(before, after) };

  before = await nats.varz();
  started = Date.now();
  const late = await startNode(nats.url, 'bench-d');
  await until([late], MEMBERS + 1);
  after = await nats.varz();
  result.new_node = { ms: Date.now() - started, ...natsDelta(before, after) };

  const timings = [];
  for (let i = 0; i < (smoke ? 20 : 200); i++) {
    const t = process.hrtime.bigint();
    await count(nodes[i % 3]);
    timings.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  timings.sort((a, b) => a - b);
  result.query_ms = { p50: +timings[Math.floor(timings.length / 2)].toFixed(2), p99: +timings[Math.floor(timings.length * 0.99)].toFixed(2) };

  watcher.messages.length = 0;
  before = await nats.varz();
  started = Date.now();
  for (const ws of members) ws.terminate();
  members = await connectAll(nodes, MEMBERS, MEMBERS);
  await until([...nodes, late], MEMBERS + 1);
  after = await nats.varz();
  const frames = (type) => watcher.messages.filter((m) => m.type === type).length;
  result.mass_reconnect = { ms: Date.now() - started, ...natsDelta(before, after),
    watcher_frames: { join_or_leave: frames('join') + frames('leave'), presence_summary: frames('presence_summary') } };

  for (const ws of [...members, watcher]) ws.terminate();
  process.stdout.write(JSON.stringify(result) + '\n');
}

main()
  .catch((error) => { console.error(error); process.exitCode = 1; })
  .finally(() => { for (const child of children) child.kill('SIGKILL'); });
