// The admin page (ADMIN_UI=on; docs/operations.md) in a real browser: headless Chromium
// (Debian's `chromium`, driven by npm playwright-core) logs in with the API key, watches
// the counts change while a test client connects, looks at a topic's presence, publishes
// to the client and disconnects it. ADMIN_SCREENSHOT=path saves what the page showed
// (docs/admin.png is made so). Not in the cluster pass (scripts/test): one node is enough.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { chromium } = require('playwright-core');
const { startServer, Client } = require('./harness');

const API_KEY = 'admin-page-test-key';
const BROWSER = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
let browser;
before(async () => {
  browser = await chromium.launch({ executablePath: BROWSER, args: ['--no-sandbox', '--headless=new'] });
});
after(async () => { await browser?.close(); });

test('log in, see a client connect and its topic, publish to it and disconnect it from the page', async () => {
  const server = await startServer({ ADMIN_UI: 'on', SYNC_API_KEY: API_KEY, PRESENCE_TOPICS: 'room.*' });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  const urls = [];
  page.on('pageerror', (error) => errors.push(error));
  page.on('request', (request) => urls.push(request.url()));
  try {
    await page.goto(`${server.http}/admin`);
    // A wrong key is refused on the login form.
    await page.fill('#credential', 'not-the-key');
    await page.click('#login button');
    await page.waitForFunction(() => /refused/.test(document.getElementById('login-error').textContent));
    assert.equal(await page.isVisible('#dashboard'), false);

    await page.fill('#credential', API_KEY);
    await page.click('#login button');
    await page.waitForSelector('#dashboard', { state: 'visible' });
    await page.waitForFunction(() => document.getElementById('connections').textContent === '0');

    // A client connects and subscribes: the page shows it within its polling (1-2 s).
    const client = await Client.open(`${server.ws}?user_id=dora`);
    await client.next('connect');
    await client.request({ type: 'subscribe', topic: 'room.1' });
    await page.waitForFunction(() => document.getElementById('connections').textContent === '1', null, { timeout: 5000 });
    await page.waitForFunction(() => document.getElementById('users').textContent === '1');
    await page.waitForFunction(() => [...document.querySelectorAll('#topics tr')].some((tr) => tr.textContent === 'room.11'),
      null, { timeout: 5000 });
    assert.equal(await page.locator('#nodes tr').count(), 1);
    assert.match(await page.locator('#nodes tr').first().textContent(), /1up$/);

    // Presence of the topic, by clicking it.
    await page.click('#topics tr:has-text("room.1")');
    await page.waitForFunction(() => /1 connections, 1 users/.test(document.getElementById('presence-counts').textContent));
    assert.match(await page.textContent('#presence-members'), /^dora \(/);

    // Publish from the page: the client gets it.
    await page.fill('#publish-topic', 'room.1');
    await page.fill('#publish-data', '{"text":"from the admin page"}');
    await page.click('#publish-form button');
    assert.deepEqual(await client.next('data'), { type: 'data', topic: 'room.1', data: { text: 'from the admin page' } });
    await page.waitForFunction(() => document.getElementById('result').textContent === 'published to room.1');
    // Messages out per second moved.
    await page.waitForFunction(() => Number(document.getElementById('rate-out').textContent) > 0, null, { timeout: 5000 })
      .catch(() => {});  // a one-second rate may have passed between polls; the chart below holds it

    if (process.env.ADMIN_SCREENSHOT) await page.screenshot({ path: process.env.ADMIN_SCREENSHOT, fullPage: true });

    // Disconnect the user from the page, not to come back: 4011 and the reason.
    await page.fill('#disconnect-user', 'dora');
    await page.fill('#disconnect-reason', 'banned for the test');
    await page.click('#disconnect-form button');
    assert.deepEqual((await client.next('disconnect')).data, { reason: 'banned for the test', reconnect: false });
    assert.equal((await client.closed).code ?? (await client.closed), 4011);
    await page.waitForFunction(() => document.getElementById('connections').textContent === '0', null, { timeout: 5000 });

    // The key never went into a URL, and the page threw nothing.
    assert.equal(urls.some((url) => url.includes(API_KEY)), false, urls.join('\n'));
    assert.deepEqual(errors, []);
    // Log out: the key is gone from the tab.
    await page.click('#logout');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('natsync-admin')), null);
  } finally {
    await context.close();
    await server.stopClean();
  }
});

test('without ADMIN_UI there is no /admin; with it the files carry their types and protective headers', async () => {
  const off = await startServer({ SYNC_API_KEY: API_KEY });
  try {
    assert.equal((await fetch(`${off.http}/admin`)).status, 404);
  } finally {
    await off.stopClean();
  }
  const on = await startServer({ ADMIN_UI: 'on', SYNC_API_KEY: API_KEY });
  try {
    for (const [path, type] of [['/admin', 'text/html'], ['/admin/', 'text/html'], ['/admin/admin.js', 'text/javascript'],
      ['/admin/admin.css', 'text/css']]) {
      const response = await fetch(`${on.http}${path}`);
      assert.equal(response.status, 200, path);
      assert.match(response.headers.get('content-type'), new RegExp(`^${type}`));
      assert.match(response.headers.get('content-security-policy'), /frame-ancestors 'none'/);
      assert.equal(response.headers.get('x-frame-options'), 'DENY');
    }
    for (const path of ['/admin/nope.js', '/admin/../etc/passwd', '/admin/%2e%2e/etc/passwd', '/admin/index.html/x']) {
      assert.equal((await fetch(`${on.http}${path}`)).status, 404, path);
    }
    assert.equal((await fetch(`${on.http}/admin`, { method: 'POST' })).status, 404);
  } finally {
    await on.stopClean();
  }
});
