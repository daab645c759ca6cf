// The screenshots in docs/images/: the demo as Ann sees it, and Ben's window offline
// with a change waiting in the outbox. `node test/demo_screenshots.mjs docs/images`
// (from clients/js, after examples/web/build.mjs and a build of natsync).
import { chromium } from 'playwright-core';
import { startServer } from './helpers.js';
import { fileURLToPath } from 'node:url';
const WEB = fileURLToPath(new URL('../../../examples/web/', import.meta.url));
const server = await startServer({ STATIC_DIR: WEB, DOCUMENT_TOPICS: 'board.>', DURABLE_TOPICS: 'chat.>', DOCUMENT_STORE: 'memory', PRESENCE_TOPICS: 'chat.>' }, { single: true });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless=new'] });
const a = await (await browser.newContext({ viewport: { width: 1000, height: 560 } })).newPage();
const b = await (await browser.newContext({ viewport: { width: 1000, height: 560 } })).newPage();
await a.goto(`${server.http}/?user=ann`); await b.goto(`${server.http}/?user=ben`);
for (const p of [a, b]) await p.waitForFunction(() => window.demo?.board.synced);
for (const t of ['Ship the SDK', 'Write the docs', 'Record the demo']) await a.evaluate((t) => window.demo.addCard(t), t);
await b.evaluate(() => window.demo.addCard('Benchmark reconnects'));
for (const [p, t] of [[a, 'Moving "Record the demo" up'], [b, 'I see it already, thanks!']]) { await p.fill('#chat-text', t); await p.press('#chat-text', 'Enter'); await p.waitForTimeout(150); }
await a.evaluate(() => window.demo.moveCard(window.demo.board.value.cards[2].id, -1));
await a.waitForTimeout(300); await b.waitForTimeout(300);
await a.screenshot({ path: process.argv[2] + '/demo-ann.png' });
await b.context().setOffline(true);
await b.waitForFunction(() => window.demo.client.state !== 'connected');
await b.evaluate(() => { window.demo.addCard('Added while offline'); });  // acked only once back online
await b.waitForTimeout(200);
await b.screenshot({ path: process.argv[2] + '/demo-offline.png' });
await browser.close(); await server.stop();
