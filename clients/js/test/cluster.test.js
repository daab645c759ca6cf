// Two natsync nodes on one nats-server with JetStream; the SDK is given both URLs. One
// node is SIGKILLed while clients on it publish, patch and listen: they move to the other
// node and nothing acknowledged is lost or applied twice, on a durable topic or a
// document.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startServer, client, closeAll, waitFor, sleep } from './helpers.js';

const require = createRequire(import.meta.url);
const { startNats } = require('../../../tests/e2e/nats.js');

const running = { nats: null, nodes: [] };
after(async () => {
  closeAll();
  for (const node of running.nodes) await node.stop('SIGKILL');
  await running.nats?.remove();
});

test('a node SIGKILLed: its clients move to the other node; every acknowledged publish and change arrives once', { timeout: 90000 }, async () => {
  running.nats = await startNats({ jetstream: true });
  const env = (id) => ({ NATS_URL: running.nats.url, NODE_ID: id, DURABLE_TOPICS: 'd.>', DOCUMENT_TOPICS: 'b.>',
    HISTORY_REPLICAS: '1', HISTORY_SIZE: '10000', WS_MESSAGE_RATE: '0' });
  const [doomed, survivor] = await Promise.all([startServer(env('a'), { single: true }), startServer(env('b'), { single: true })]);
  running.nodes.push(doomed, survivor);
  const urls = [doomed.ws, survivor.ws];  // every client tries the doomed node first

  const reader = client(urls.map((u) => `${u}?user_id=reader`));
  const got = [];
  let lost = 0;
  const feed = reader.subscribe('d.feed', { onData: (data) => got.push(data), onStateLost: () => lost++ });
  const readerDoc = reader.document('b.doc');
  const writers = [0, 1].map((w) => client(urls.map((u) => `${u}?user_id=writer${w}`), { timeout: 15000 }));
  const docs = writers.map((w) => w.document('b.doc'));
  await Promise.all([feed.ready, readerDoc.ready, ...docs.map((d) => d.ready)]);

  // Each writer publishes and changes the document without pause, one at a time. A
  // request refused or timed out in the failover is not acknowledged: it may or may not
  // have been stored, and is counted apart.
  const acked = [];
  const keys = [];
  const unsure = [];
  let stop = false;
  const loops = writers.map((writer, w) => (async () => {
    for (let i = 0; !stop; i++) {
      const id = `${w}-${i}`;
      await writer.publish('d.feed', id).then(() => acked.push(id), (err) => unsure.push(`${id} ${err.code}`));
      await docs[w].patch({ [`k${id}`]: i }).then(() => keys.push(`k${id}`), (err) => unsure.push(`k${id} ${err.code}`));
    }
  })());
  await sleep(1500);
  const disconnected = waitFor(() => reader.state !== 'connected', 10000, 5);
  await doomed.stop('SIGKILL');
  await disconnected;
  await sleep(2500);
  stop = true;
  await Promise.all(loops);

  const unsureIds = new Set(unsure.map((u) => u.split(' ')[0]));
  await waitFor(() => acked.every((id) => got.includes(id)), 15000).catch(() => {});
  await sleep(300);
  assert.equal(lost, 0, 'the durable topic was recovered');
  assert.equal(new Set(got).size, got.length, 'nothing delivered twice');
  assert.deepEqual(acked.filter((id) => !got.includes(id)), [], `every acknowledged publish (not acknowledged: ${unsure.join(', ')})`);
  assert.deepEqual(got.filter((id) => !acked.includes(id) && !unsureIds.has(id)), [], 'nothing that was never sent');
  for (const w of [0, 1]) {
    const mine = got.filter((id) => id.startsWith(`${w}-`)).map((id) => Number(id.split('-')[1]));
    assert.deepEqual(mine, [...mine].sort((x, y) => x - y), `writer ${w}'s messages in order`);
  }
  const served = await (await fetch(`${survivor.http}/api/sync/document?topic=b.doc`)).json();
  await waitFor(() => readerDoc.revision === served.revision, 10000);
  assert.deepEqual(readerDoc.value, served.data);
  const storedKeys = Object.keys(served.data);
  assert.deepEqual(keys.filter((k) => !storedKeys.includes(k)), [], 'every acknowledged change');
  assert.deepEqual(storedKeys.filter((k) => !keys.includes(k) && !unsureIds.has(k)), [], 'nothing that was never sent');
  assert.equal(served.revision, storedKeys.length, 'one revision per stored change: none applied twice');
  console.log(`cluster failover: ${acked.length} publishes and ${keys.length} changes acknowledged, all delivered once; ` +
    `${unsure.length} not acknowledged (${unsure.slice(0, 5).join(', ')})`);
});
