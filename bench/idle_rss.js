#!/usr/bin/env node
// Measures natsync's resident memory with 0 and N idle WebSocket connections (and with
// one subscription each), then after they all close. Uses the npm `ws` client from
// tests/e2e (run `npm ci` there first).
//
//   node bench/idle_rss.js [connections=10000] [path/to/natsync] [--tls]
//
// --tls: over wss:// with a self-signed certificate made now (TLS_CERT_FILE); adds the
// handshake rate the client reached (Node's TLS client is the bottleneck: a lower bound).
//
// Prints one JSON object. The client runs in this Node process; the server is a separate
// process, so the figures are the server's alone.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const { startServer, Client, waitFor, getStatus, makeCertificate } = require('../tests/e2e/harness');

async function main() {
  const tls = process.argv.includes('--tls');
  const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const count = Number(positional[0] || 10000);
  const bin = positional[1] || path.resolve(__dirname, '../build/natsync');
  const certificate = tls ? makeCertificate() : null;
  const server = await startServer({
    WORKER_THREADS: process.env.WORKER_THREADS || '2',
    ...(certificate ? { TLS_CERT_FILE: certificate.cert, TLS_KEY_FILE: certificate.key } : {}),
  }, { bin });
  const settle = () => new Promise((r) => setTimeout(r, 1000));
  const result = { connections: count, workers: Number(process.env.WORKER_THREADS || 2), tls };
  try {
    await settle();
    result.rss_kib_idle_empty = server.rssKiB();
    const clients = [];
    const started = Date.now();
    for (let i = 0; i < count; i += 500) {
      const batch = await Promise.all(Array.from({ length: Math.min(500, count - i) }, (_, j) =>
        Client.open(`${server.ws}?user_id=u${i + j}`, certificate ? { ca: certificate.pem } : {})));
      await Promise.all(batch.map((c) => c.next('connect', 30000)));
      clients.push(...batch);
    }
    result.connect_seconds = (Date.now() - started) / 1000;
    result.handshakes_per_second = Math.round(count / result.connect_seconds);
    await waitFor(async () => (await getStatus(server)).connections === count, 30000);
    await settle();
    result.rss_kib_connected = server.rssKiB();
    for (let i = 0; i < count; i += 1000) {
      await Promise.all(clients.slice(i, i + 1000).map((c, j) => c.request({ type: 'subscribe', topic: `room.${i + j}` }, 30000)));
    }
    await settle();
    result.rss_kib_subscribed = server.rssKiB();
    result.kib_per_connection_idle = +((result.rss_kib_connected - result.rss_kib_idle_empty) / count).toFixed(2);
    result.kib_per_connection_subscribed = +((result.rss_kib_subscribed - result.rss_kib_idle_empty) / count).toFixed(2);
    clients.forEach((c) => c.terminate());
    await waitFor(async () => (await getStatus(server)).connections === 0, 30000);
    await settle();
    result.rss_kib_after_close = server.rssKiB();
  } finally {
    await server.stop();
    if (certificate) fs.rmSync(certificate.dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(result, null, 2));
}

main().catch((e) => { console.error(e); process.exit(1); });
