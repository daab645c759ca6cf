// A freshly started cluster (issue 15): 3 nats-servers with JetStream and fresh stores,
// 3 natsync nodes started one after the other, subscribers on durable topics from the
// first seconds, then REST and `sync` publishers at ~400 msg/s while JetStream is still
// electing its leaders. Every message acknowledged after a subscriber's subscribe ack
// must reach that subscriber exactly once and in order, on whichever node it is.
//
// FRESH_CLUSTER_RUNS (default 4; 2 under the sanitizers) runs without faults (every
// second one with the last node started late, below: each of those failed on the code
// before the fix, so two of them catch it; 50 runs in a row are the loop), then
// FRESH_CLUSTER_FAULT_RUNS (default 2; 1) with faults: a natsync node SIGKILLed and
// restarted, one nats-server killed and restarted, a node frozen with SIGSTOP for 3 s.
// Each run starts everything afresh. A failing run's report (missing ids with their
// offsets and publishing node, each subscriber's acks, every node's debug log) is written
// to FRESH_CLUSTER_REPORT_DIR (default: the system's temp directory) and named here.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const os = require('node:os');
const { startServer, waitFor, sleep } = require('./harness');
const { startNatsCluster } = require('./nats');
const { clusterNodeEnv, ResilientSubscriber, AckLedger, restPublish, syncPublisher, storedOffsets, writeFailureReport } = require('./durable_clients');

const SANITIZED = process.env.NATSYNC_SANITIZED === '1';
const RUNS = Number(process.env.FRESH_CLUSTER_RUNS ?? (SANITIZED ? 2 : 4));
const FAULT_RUNS = Number(process.env.FRESH_CLUSTER_FAULT_RUNS ?? (SANITIZED ? 1 : 2));
const REPORT_DIR = process.env.FRESH_CLUSTER_REPORT_DIR || os.tmpdir();
const TOPICS = ['c.0', 'c.1', 'c.2'];
const SUBSCRIBERS = 4;
const PUBLISH_SECONDS = 8;
const FAULT_PUBLISH_SECONDS = 20;
const REST_INTERVAL_MS = 6;  // per REST publisher; with the sync client ~400 msg/s in all

// Every second run starts the last node 2.5 s after the others, once JetStream has
// elected its meta leader: that node's history is ready seconds before theirs, and it
// acknowledges publishes while theirs is not (how one run in four went in issue 15,
// made certain). FRESH_CLUSTER_STAGGER_MS sets it for every run.
const staggerOf = (run) => Number(process.env.FRESH_CLUSTER_STAGGER_MS ?? (run % 2 === 0 ? 2500 : 0));

const running = { nodes: [], natsServers: [] };
after(async () => {
  for (const node of running.nodes) if (node) await node.stop('SIGKILL');
  for (const server of running.natsServers) await server.remove();
});

async function runScenario(run, { faults, stagger = 0 }) {
  const natsServers = await startNatsCluster(3, { jetstream: true });
  running.natsServers = natsServers;
  const urls = natsServers.map((s) => s.url);
  const nodes = [];
  running.nodes = nodes;
  const retired = [];
  const startSlot = async (slot) => {
    const env = clusterNodeEnv(urls, slot, { nodeId: `fresh-${slot}`, topics: 'c.>' });
    const node = await startServer(env, { single: true });
    node.slot = slot;
    nodes[slot] = node;
    await waitFor(async () => (await fetch(`${node.http}/api/sync/status`).catch(() => null))?.ok, 10000, 20);
    return node;
  };
  // Each node as soon as the previous one answers its status: JetStream has not elected
  // its leaders yet.
  for (let slot = 0; slot < 3; slot++) {
    if (slot === 2 && stagger) await sleep(stagger);
    await startSlot(slot);
  }
  const live = () => nodes.filter((n) => n && n.alive !== false && !n.frozen);
  const pick = () => { const l = live(); return l.length ? l[Math.floor(Math.random() * l.length)] : null; };

  await sleep(1500);
  const subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) => new ResilientSubscriber(`sub${i}`, pick, TOPICS));
  for (const s of subscribers) s.connect();
  // Publishing starts whether or not the subscribes are acknowledged yet (a node whose
  // history is not ready holds its acks): what a subscriber is owed is judged by the
  // position in its ack.
  await sleep(1500);

  const ledger = new AckLedger(TOPICS);
  let nextId = 0;
  const takeId = () => nextId++;
  const seconds = faults ? FAULT_PUBLISH_SECONDS : PUBLISH_SECONDS;
  const started = Date.now();
  const publishing = () => Date.now() - started < seconds * 1000;
  const restPublisher = async () => {
    while (publishing()) {
      const node = pick();
      const id = takeId();
      const began = Date.now();
      if (node) await restPublish(ledger, node, TOPICS[id % TOPICS.length], id);
      await sleep(Math.max(0, REST_INTERVAL_MS - (Date.now() - began)));
    }
  };
  const syncLoop = async () => {
    while (publishing()) {
      const node = pick();
      if (node) await syncPublisher(ledger, node, TOPICS, takeId, () => !publishing(), REST_INTERVAL_MS);
      else await sleep(100);
    }
  };

  const events = [];
  const at = () => ((Date.now() - started) / 1000).toFixed(1);
  const chaos = async () => {
    if (!faults) return;
    const slots = [0, 1, 2].sort(() => Math.random() - 0.5);
    await sleep(2000);
    const killed = nodes[slots[0]];
    killed.alive = false;
    await killed.stop('SIGKILL');
    retired.push(killed);
    events.push(`${at()}s kill natsync ${slots[0]}`);
    await sleep(2000);
    await startSlot(slots[0]);
    events.push(`${at()}s natsync ${slots[0]} back`);
    await sleep(2000);
    const server = natsServers[Math.floor(Math.random() * 3)];
    await server.stop('SIGKILL');
    events.push(`${at()}s kill nats-server ${natsServers.indexOf(server)}`);
    await sleep(4000);
    await server.start();
    events.push(`${at()}s nats-server back`);
    await sleep(2000);
    const frozen = nodes[slots[1]];
    frozen.frozen = true;
    frozen.proc.kill('SIGSTOP');
    events.push(`${at()}s SIGSTOP natsync ${slots[1]}`);
    await sleep(3000);
    frozen.proc.kill('SIGCONT');
    frozen.frozen = false;
    events.push(`${at()}s SIGCONT natsync ${slots[1]}`);
  };
  await Promise.all([restPublisher(), restPublisher(), syncLoop(), chaos()]);
  events.push(`${at()}s publishing stopped`);

  const subscribed = await waitFor(() => subscribers.every((s) => s.subscribed), 35000, 50).catch(() => false);
  let stored = null;
  for (const node of live()) if ((stored = await storedOffsets(node, TOPICS))) break;
  ledger.setStored(stored);
  await waitFor(() => subscribers.every((s) => ledger.missingCount(s) === 0), faults ? 30000 : 8000, 100).catch(() => {});
  for (const s of subscribers) s.stop();
  const tally = ledger.tally(subscribers);
  const notRecovered = subscribers.flatMap((s) => s.notRecovered);
  const summary = {
    run, faults, stagger, attempted: ledger.attempted, acknowledged: ledger.count(), failed_publishes: ledger.failed,
    subscribed: Boolean(subscribed), history_read: Boolean(stored),
    ...tally, not_recovered: notRecovered.length, subscribes_refused: subscribers.reduce((n, s) => n + s.refused, 0), reconnects: subscribers.reduce((n, s) => n + s.connections - 1, 0),
    events,
  };
  console.log(`fresh cluster: ${JSON.stringify(summary)}`);
  const failed = !subscribed || !stored || tally.lost || tally.duplicated || tally.outOfOrder || notRecovered.length;
  if (failed || process.env.FRESH_CLUSTER_REPORT === 'always') {
    summary.report = writeFailureReport(REPORT_DIR, `fresh-cluster-${process.pid}-${run}`,
      { ledger, subscribers, nodes: [...retired, ...nodes.filter(Boolean)], natsServers });
    console.log(`fresh cluster: run ${run} failed; report in ${summary.report}`);
  }

  for (const node of nodes) if (node) await node.stop('SIGKILL');
  for (const server of natsServers) await server.remove();
  running.nodes = [];
  running.natsServers = [];
  return summary;
}

function check(summary) {
  const where = summary.report ? ` (report: ${summary.report})` : '';
  assert.ok(summary.subscribed, `every subscribe acknowledged in run ${summary.run}${where}`);
  assert.ok(summary.history_read, `the history read back in run ${summary.run}${where}`);
  assert.equal(summary.lost, 0, `acknowledged messages lost in run ${summary.run}${where}`);
  assert.equal(summary.duplicated, 0, `messages delivered twice in run ${summary.run}${where}`);
  assert.equal(summary.outOfOrder, 0, `offsets out of order in run ${summary.run}${where}`);
  assert.equal(summary.not_recovered, 0, `resubscriptions not recovered in run ${summary.run}${where}`);
  assert.ok(summary.acknowledged > 0, `something was acknowledged in run ${summary.run}`);
}

test(`fresh cluster, no faults: ${RUNS} runs; every message acknowledged after a subscribe ack reaches that subscriber once`, { timeout: RUNS * 60000 + 10000 }, async () => {
  for (let run = 1; run <= RUNS; run++) check(await runScenario(run, { faults: false, stagger: staggerOf(run) }));
});

test(`fresh cluster with faults: ${FAULT_RUNS} runs (natsync SIGKILL, nats-server kill, 3 s SIGSTOP); nothing acknowledged is lost`, { timeout: FAULT_RUNS * 120000 + 10000 }, async () => {
  for (let run = 1; run <= FAULT_RUNS; run++) check(await runScenario(`f${run}`, { faults: true }));
});
