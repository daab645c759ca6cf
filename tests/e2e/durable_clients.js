// Clients of durable topics for the cluster tests that count what was acknowledged
// against what was delivered (history_chaos, history_fresh_cluster): a subscriber that
// survives its node, REST and `sync` publishers that record what was acknowledged, and
// the tally of lost / duplicated / out-of-order deliveries.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { WebSocket } = require('./harness');

// The environment of natsync node `slot` of a 3-node cluster on the JetStream servers
// `urls` (each node prefers another server), for durable topics `topics`: a stream with
// 3 replicas, a history large and long enough for the whole test, debug logs.
function clusterNodeEnv(urls, slot, { nodeId, topics, extra = {} }) {
  return {
    NATS_URL: [...urls.slice(slot % 3), ...urls.slice(0, slot % 3)].join(','),
    NODE_ID: nodeId,
    DURABLE_TOPICS: topics,
    HISTORY_SIZE: '100000',
    HISTORY_TTL: '10m',
    HISTORY_REPLICAS: '3',
    WS_MESSAGE_RATE: '0',
    LOG_LEVEL: 'debug',
    ...extra,
  };
}

// A subscriber that survives its node: reconnects to a live node and resubscribes every
// topic since the last offset it got. `pickNode()` returns a node ({ ws, port }) or null.
class ResilientSubscriber {
  constructor(name, pickNode, topics) {
    this.name = name;
    this.pickNode = pickNode;
    this.topics = new Map(topics.map((t) => [t, { offset: null, epoch: null, ids: [], offsets: [], nodes: [], acks: [] }]));
    this.recovered = 0;
    this.notRecovered = [];
    this.outOfOrder = 0;
    this.connections = 0;
    this.nodes = [];  // the port of each node it was connected to, in order
    this.connects = [];  // each connect message: { node, at, client }
    this.errors = [];
    this.refused = 0;  // subscribes refused with broker_unavailable (and tried again)
    this.stopped = false;
    this.subscribed = false;
  }

  connect() {
    if (this.stopped) return;
    const node = this.pickNode();
    if (!node) { setTimeout(() => this.connect(), 100); return; }
    const ws = new WebSocket(`${node.ws}?user_id=${this.name}`);
    this.ws = ws;
    this.connections++;
    this.nodes.push(node.port);
    const pending = new Set(this.topics.keys());
    ws.on('open', () => {
      for (const [topic, state] of this.topics) {
        const message = { type: 'subscribe', topic, id: `${topic}#${this.connections}` };
        if (state.offset !== null) message.since = { offset: state.offset, epoch: state.epoch };
        ws.send(JSON.stringify(message));
      }
    });
    ws.on('message', (raw) => {
      const message = JSON.parse(raw.toString());
      if (message.type === 'connect') {
        this.connects.push({ node: node.port, at: Date.now(), client: message.data.client_id });
      } else if (message.type === 'error') {
        this.errors.push({ node: node.port, at: Date.now(), ...message });
        // A subscribe refused (broker_unavailable: JetStream did not answer the node in
        // time) is tried again, as the protocol says, from the last offset seen.
        const topic = typeof message.id === 'string' ? message.id.split('#')[0] : null;
        if (this.topics.has(topic) && message.code === 'broker_unavailable') {
          this.refused++;
          setTimeout(() => {
            if (ws.readyState !== WebSocket.OPEN) return;
            const state = this.topics.get(topic);
            const retry = { type: 'subscribe', topic, id: `${topic}#${this.connections}r${this.refused}` };
            if (state.offset !== null) retry.since = { offset: state.offset, epoch: state.epoch };
            ws.send(JSON.stringify(retry));
          }, 500);
        }
      } else if (message.type === 'subscribe') {
        const state = this.topics.get(message.topic);
        state.acks.push({ node: node.port, at: Date.now(), offset: message.offset, recovered: message.recovered });
        if (message.recovered === true) this.recovered++;
        if (message.recovered === false) this.notRecovered.push({ topic: message.topic, since: state.offset, node: node.port });
        if (state.offset === null) { state.offset = message.offset; state.epoch = message.epoch; }
        pending.delete(message.topic);
        if (pending.size === 0) this.subscribed = true;
      } else if (message.type === 'data') {
        const state = this.topics.get(message.topic);
        if (state.offset !== null && message.offset <= state.offset) this.outOfOrder++;
        state.offset = message.offset;
        state.epoch = message.epoch;
        state.ids.push(message.data.id);
        state.offsets.push(message.offset);
        state.nodes.push(node.port);
      }
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      if (!this.stopped) setTimeout(() => this.connect(), 100 + Math.random() * 200);
    });
  }

  stop() {
    this.stopped = true;
    if (this.ws) this.ws.terminate();
  }
}

// What the publishers had acknowledged: topic -> Map(id -> { node, via, offset? }).
class AckLedger {
  constructor(topics) {
    this.topics = topics;
    this.acked = new Map(topics.map((t) => [t, new Map()]));
    this.attempted = 0;
    this.failed = 0;
  }

  record(topic, id, detail) { this.acked.get(topic).set(id, detail); }
  count() { return [...this.acked.values()].reduce((n, m) => n + m.size, 0); }

  // The stream's offset of every stored id, topic -> Map(id -> offset) (from
  // GET /api/sync/history), to judge subscribers by position: `owed()` then leaves out
  // what was stored at or before a subscriber's first subscribe ack. Without it every
  // acknowledged message is owed to every subscriber.
  setStored(stored) { this.stored = stored; }

  // The acknowledged ids of `topic` that `subscriber` must receive: those stored after
  // the position of its first subscribe ack (an acknowledged id missing from the
  // history is owed to everyone).
  owed(subscriber, topic) {
    const ids = [...this.acked.get(topic).keys()];
    const first = subscriber.topics.get(topic).acks[0];
    const stored = this.stored && this.stored.get(topic);
    if (!stored || !first) return ids;
    return ids.filter((id) => !stored.has(id) || stored.get(id) > first.offset);
  }

  // Owed ids of `topic` that `subscriber` has not received.
  missing(subscriber, topic) {
    const got = new Set(subscriber.topics.get(topic).ids);
    return this.owed(subscriber, topic).filter((id) => !got.has(id));
  }

  missingCount(subscriber) { return this.topics.reduce((n, t) => n + this.missing(subscriber, t).length, 0); }

  // Lost (owed, not received), duplicated, out-of-order and unacknowledged-but-delivered,
  // over every subscriber.
  tally(subscribers) {
    const result = { owed: 0, delivered: 0, lost: 0, duplicated: 0, outOfOrder: 0, unacknowledgedDelivered: 0 };
    for (const s of subscribers) {
      result.outOfOrder += s.outOfOrder;
      for (const topic of this.topics) {
        const { ids } = s.topics.get(topic);
        const acked = this.acked.get(topic);
        result.delivered += ids.length;
        const seen = new Set();
        for (const id of ids) {
          if (seen.has(id)) result.duplicated++;
          seen.add(id);
          if (!acked.has(id)) result.unacknowledgedDelivered++;
        }
        const owed = this.owed(s, topic);
        result.owed += owed.length;
        for (const id of owed) if (!seen.has(id)) result.lost++;
      }
    }
    return result;
  }
}

// One REST publish: acknowledged on 200 (its offset recorded).
async function restPublish(ledger, node, topic, id, timeoutMs = 10000) {
  ledger.attempted++;
  try {
    const response = await fetch(`${node.http}/api/sync/publish`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic, data: { id } }), signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (response.status === 200) {
      ledger.record(topic, id, { node: node.port, via: 'rest', offset: JSON.parse(text).offset, at: Date.now() });
      return true;
    }
  } catch { /* refused, reset or timed out: not acknowledged */ }
  ledger.failed++;
  return false;
}

// A WebSocket client publishing with `sync` and an `id`, one message in flight at a
// time, at most one per `intervalMs`: acknowledged on its ack. Resolves when
// `shouldStop()` or its connection ends.
function syncPublisher(ledger, node, topics, nextId, shouldStop, intervalMs = 0) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${node.ws}?user_id=sync-publisher`);
    let current = null;
    let sentAt = 0;
    const sendNext = () => {
      if (shouldStop()) { ws.close(); return; }
      const id = nextId();
      const topic = topics[id % topics.length];
      current = { id, topic };
      sentAt = Date.now();
      ledger.attempted++;
      ws.send(JSON.stringify({ type: 'sync', topic, id: `s${id}`, data: { id } }));
    };
    ws.on('open', sendNext);
    ws.on('message', (raw) => {
      const message = JSON.parse(raw.toString());
      if (!current || message.id !== `s${current.id}`) return;
      if (message.type === 'sync') ledger.record(current.topic, current.id, { node: node.port, via: 'sync', at: Date.now() });
      else ledger.failed++;
      current = null;
      setTimeout(sendNext, Math.max(0, intervalMs - (Date.now() - sentAt)));
    });
    ws.on('error', () => {});
    ws.on('close', () => { if (current) ledger.failed++; resolve(); });
  });
}

// topic -> Map(id -> offset) of every stored message, read from `node`'s history API a
// page at a time; null if the node does not answer.
async function storedOffsets(node, topics) {
  const stored = new Map();
  for (const topic of topics) {
    const offsets = new Map();
    for (let since = 0; ;) {
      const response = await fetch(`${node.http}/api/sync/history?topic=${topic}&since=${since}&limit=1000`).catch(() => null);
      if (!response || response.status !== 200) return null;
      const page = await response.json();
      for (const m of page.messages) offsets.set(m.data.id, m.offset);
      if (page.messages.length < 1000) break;
      since = page.messages[page.messages.length - 1].offset;
    }
    stored.set(topic, offsets);
  }
  return stored;
}

// Everything needed to explain a loss, in one file under `dir` (returned): per
// subscriber its connections, acks, errors, the gaps in what it received (with the
// offsets and node around each), the missing ids with their offsets and publishing
// node; then every natsync node's output and every nats-server's log.
function writeFailureReport(dir, name, { ledger, subscribers, nodes, natsServers }) {
  const stored = ledger.stored || new Map();
  const lines = [];
  for (const s of subscribers) {
    lines.push(`${s.name}: nodes ${JSON.stringify(s.nodes)}`);
    lines.push(`  connects ${JSON.stringify(s.connects)}`);
    if (s.errors.length) lines.push(`  errors ${JSON.stringify(s.errors)}`);
    for (const topic of ledger.topics) {
      const state = s.topics.get(topic);
      const missing = ledger.missing(s, topic).map((id) => ({ id, offset: stored.get(topic)?.get(id) ?? null, ...ledger.acked.get(topic).get(id) }));
      lines.push(`  ${topic}: acks ${JSON.stringify(state.acks)}`);
      lines.push(`  ${topic}: missing ${missing.length}: ${JSON.stringify(missing.slice(0, 200))}`);
      // Where its offsets jump over stored messages of the topic.
      const offsets = [...(stored.get(topic)?.values() ?? [])].sort((a, b) => a - b);
      const gaps = [];
      for (let i = 1; i < state.offsets.length && gaps.length < 20; i++) {
        const skipped = offsets.filter((o) => o > state.offsets[i - 1] && o < state.offsets[i]).length;
        if (skipped) gaps.push({ after: state.offsets[i - 1], next: state.offsets[i], skipped, on: state.nodes[i] });
      }
      lines.push(`  ${topic}: gaps ${JSON.stringify(gaps)}`);
    }
  }
  for (const node of nodes) lines.push(`==== natsync ${node.slot} (:${node.port})`, node.output());
  natsServers.forEach((server, i) => lines.push(`==== nats-server ${i}`, server.log()));
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `natsync-${name}.log`);
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}

module.exports = { clusterNodeEnv, ResilientSubscriber, AckLedger, restPublish, syncPublisher, storedOffsets, writeFailureReport };
