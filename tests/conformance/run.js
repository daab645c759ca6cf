#!/usr/bin/env node
// RFC 6455 conformance of natsync's WebSocket transport, driven through the echo
// endpoint (WS_ECHO_PATH, the same transport code as /ws/sync) by a raw client of our
// own (client.js). Prints one line per case that is not OK and a summary per section;
// exits 1 if any case FAILED.
//
//   node tests/conformance/run.js [--only 5.,6.4] [--json FILE] [--verbose] [--tls]
// --tls: the same cases over TLS (wss://) with a self-signed certificate made now.
// NATSYNC_BIN picks the server binary (default build/natsync).
'use strict';
const fs = require('node:fs');
const { startServer, makeCertificate } = require('../e2e/harness');
const { RawClient } = require('./client');
const { cases } = require('./cases');

const args = process.argv.slice(2);
const option = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const only = option('--only')?.split(',');
const jsonOut = option('--json');
const verbose = args.includes('--verbose');
const certificate = args.includes('--tls') ? makeCertificate() : null;

const sameEvents = (a, b) => a.length === b.length && a.every((e, i) => e.kind === b[i].kind && e.data.equals(b[i].data));
const show = (events) => events.map((e) => `${e.kind}(${e.data.length})`).join(' ') || 'none';

async function runCase(port, kase) {
  const started = Date.now();
  const c = await RawClient.connect(port, '/ws/echo', { extensions: kase.extensions, ca: certificate?.pem });
  try {
    const waitMs = kase.timeoutMs ?? 2000;
    let outcome = {};
    const running = Promise.resolve(kase.run(c)).then((r) => { outcome = r ?? {}; });
    if (kase.expect === 'echo') {
      await running;
      await c.until(() => c.events.length >= kase.events.length || c.close || c.ended, waitMs);
      if (!c.close && !c.ended) {
        await c.sendClose(1000);
        await c.until(() => c.ended, 2000);
      }
    } else {
      await Promise.race([running, c.endedPromise]);
      await c.until(() => c.ended, waitMs);
    }
    const problems = [...c.protocolErrors];
    if (kase.negotiation) {
      const wrong = kase.negotiation(c.deflate);
      if (wrong) problems.push(`negotiation: ${wrong}`);
    }
    if (c.framesAfterClose) problems.push(`${c.framesAfterClose} frame(s) after the close frame`);
    if (!c.ended) problems.push('server did not close the TCP connection');
    const codes = kase.expect === 'echo' ? [1000] : kase.codes;
    const dropAllowed = kase.expect === 'fail' && codes.includes(1002);
    if (!c.close && !(dropAllowed && c.ended)) problems.push(`no close frame (expected ${codes.join('/')})`);
    if (c.close && !codes.includes(c.close.code)) problems.push(`close code ${c.close.code}, expected ${codes.join('/')}`);
    let behaviour = 'OK';
    if (!sameEvents(c.events, kase.events)) {
      if (kase.lenient?.(c.events)) behaviour = 'NON-STRICT';
      else problems.push(`received ${show(c.events)}, expected ${show(kase.events)}`);
    }
    if (outcome.nonStrict && behaviour === 'OK') behaviour = 'NON-STRICT';
    return {
      id: kase.id, description: kase.description, ms: Date.now() - started,
      result: problems.length ? 'FAILED' : behaviour, close: c.close?.code ?? null,
      detail: problems.join('; ') || outcome.nonStrict || (behaviour === 'NON-STRICT' ? `received ${show(c.events)}` : ''),
    };
  } finally {
    c.destroy();
  }
}

async function main() {
  const selected = cases.filter((k) => !only || only.some((p) => k.id.startsWith(p)));
  const server = await startServer({
    WS_ECHO_PATH: '/ws/echo', WS_COMPRESSION: 'on', WS_MAX_MESSAGE_SIZE: String(16 * 1024 * 1024),
    WS_MAX_QUEUE_BYTES: String(64 * 1024 * 1024),
    ...(certificate ? { TLS_CERT_FILE: certificate.cert, TLS_KEY_FILE: certificate.key } : {}),
  }, { single: true });
  const results = [];
  const started = Date.now();
  try {
    for (const kase of selected) {
      let result;
      try {
        result = await runCase(server.port, kase);
      } catch (err) {
        result = { id: kase.id, description: kase.description, result: 'FAILED', detail: String(err.message ?? err) };
      }
      results.push(result);
      if (verbose || result.result !== 'OK') {
        const detail = result.detail ? ` -- ${result.detail.slice(0, 400)}` : '';
        console.log(`${result.result.padEnd(10)} ${result.id.padEnd(9)} ${result.description}${detail}`);
      }
    }
  } finally {
    await server.stopClean();
  }
  const sections = new Map();
  for (const r of results) {
    const section = r.id.split('.')[0];
    const s = sections.get(section) ?? { total: 0, OK: 0, 'NON-STRICT': 0, FAILED: 0 };
    s.total++; s[r.result]++;
    sections.set(section, s);
  }
  for (const [section, s] of sections) {
    console.log(`section ${section.padEnd(2)} ${String(s.OK).padStart(4)} OK, ${s['NON-STRICT']} non-strict, ${s.FAILED} failed of ${s.total}`);
  }
  const failed = results.filter((r) => r.result === 'FAILED').length;
  const passed = results.length - failed;
  if (certificate) fs.rmSync(certificate.dir, { recursive: true, force: true });
  console.log(`conformance${certificate ? ' over TLS' : ''}: ${passed}/${results.length} cases passed ` +
    `(${results.filter((r) => r.result === 'OK').length} OK, ${results.filter((r) => r.result === 'NON-STRICT').length} non-strict), ` +
    `${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ passed, total: results.length, results }, null, 1));
  process.exit(failed ? 1 : 0);
}

main().catch((err) => { console.error(err); process.exit(1); });
