// What the SDK tests share: the real natsync binary (tests/e2e/harness.js starts it),
// npm `ws` as the WebSocket for Node, and small waiting helpers.
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import { createClient } from '../src/index.js';

const require = createRequire(import.meta.url);
export const harness = require('../../../tests/e2e/harness.js');
export const { startServer, postJson, sleep, waitFor } = harness;

// A client for Node on `url`, closed by `closeAll`.
const clients = new Set();
export function client(url, options = {}) {
  const c = createClient(url, { WebSocket, minReconnectDelay: 50, maxReconnectDelay: 500, ...options });
  clients.add(c);
  return c;
}
export function closeAll() {
  for (const c of clients) c.close();
  clients.clear();
}

export function once(emitter, event, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no ${event} within ${timeoutMs} ms`)); }, timeoutMs);
    const off = emitter.on(event, (value) => { clearTimeout(timer); off(); resolve(value); });
  });
}

export const publishRest = (server, topic, data, extra = {}) =>
  postJson(`${server.http}/api/sync/publish`, { topic, data, ...extra });
