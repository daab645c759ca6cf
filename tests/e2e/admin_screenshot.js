// Makes docs/images/admin.png: the admin page after a minute of light traffic (a few users,
// a publisher). Not a test: `node tests/e2e/admin_screenshot.js [out.png]`.
'use strict';
const path = require('node:path');
const { chromium } = require('playwright-core');
const { startServer, Client, postJson, sleep } = require('./harness');

async function main() {
  const out = process.argv[2] || path.join(__dirname, '../../docs/images/admin.png');
  const server = await startServer({ ADMIN_UI: 'on', SYNC_API_KEY: 'screenshot', PRESENCE_TOPICS: 'room.*' });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless=new'] });
  const clients = [];
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`${server.http}/admin`);
    await page.fill('#credential', 'screenshot');
    await page.click('#login button');
    await page.waitForSelector('#dashboard', { state: 'visible' });
    const users = ['ann', 'ben', 'cho', 'dev', 'eli', 'fay', 'gus'];
    for (let second = 0; second < 60; second++) {
      if (second % 6 === 0 && clients.length < 14) {
        const user = users[clients.length % users.length];
        const client = await Client.open(`${server.ws}?user_id=${user}`);
        await client.request({ type: 'subscribe', topic: clients.length % 2 ? 'room.lobby' : 'room.7' });
        await client.request({ type: 'subscribe', topic: 'news.eu' });
        clients.push(client);
      }
      const burst = 20 + Math.round(15 * Math.sin(second / 6));
      for (let i = 0; i < burst; i++) await postJson(`${server.http}/api/sync/publish`, { topic: 'news.eu', data: { i } }, { Authorization: 'Bearer screenshot' });
      if (second % 3 === 0) clients[0].send({ type: 'sync', topic: 'room.7', data: { text: 'hi' } });
      if (second === 55) await page.click('#topics tr:has-text("room.7")');
      await sleep(1000);
    }
    await page.screenshot({ path: out, fullPage: true });
    console.log(`wrote ${out}`);
  } finally {
    for (const client of clients) client.terminate();
    await browser.close();
    await server.stop();
  }
}

main().catch((error) => { console.error(error); process.exit(1); });
