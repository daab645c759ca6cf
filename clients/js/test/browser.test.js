// natsync-client in a real browser: headless Chromium (Debian's `chromium`, driven by
// npm playwright-core; no browser download) on pages that natsync serves itself
// (STATIC_DIR = examples/web, with the SDK bundled by examples/web/build.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, publishRest, waitFor } from './helpers.js';

const WEB = fileURLToPath(new URL('../../../examples/web/', import.meta.url));
const BROWSER = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ENV = { STATIC_DIR: WEB, DOCUMENT_TOPICS: 'board.>,sdk.doc', DURABLE_TOPICS: 'chat.>,sdk.d', DOCUMENT_STORE: 'memory', PRESENCE_TOPICS: 'chat.>' };

let browser;
const servers = [];
const pageErrors = [];
before(async () => {
  execFileSync(process.execPath, [`${WEB}build.mjs`]);
  browser = await chromium.launch({ executablePath: BROWSER, args: ['--no-sandbox', '--headless=new'] });
});
after(async () => {
  await browser?.close();
  for (const server of servers) await server.stop('SIGKILL');
});

async function openPage(context, url) {
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err));
  await page.goto(url);
  return page;
}

test('the SDK in a page: subscribe, publish, a document patch, and a reconnect after the server restarts', async () => {
  const server = await startServer(ENV, { single: true });
  servers.push(server);
  const context = await browser.newContext();
  const page = await openPage(context, `${server.http}/`);
  await page.evaluate(async () => {
    const { createClient } = await import('/natsync-client.js');
    const url = `ws://${location.host}/ws/sync?user_id=page`;
    const t = (window.sdkTest = { got: [], states: [], lost: 0 });
    t.client = createClient(url, { minReconnectDelay: 100, maxReconnectDelay: 1000 });
    t.client.on('state', ({ to }) => t.states.push(to));
    t.sub = t.client.subscribe('sdk.d', { onData: (data) => t.got.push(data), onStateLost: () => t.lost++ });
    t.doc = t.client.document('sdk.doc');
    await Promise.all([t.sub.ready, t.doc.ready]);
    t.other = createClient(url);
    t.otherGot = [];
    await t.other.subscribe('sdk.d', { onData: (data) => t.otherGot.push(data) }).ready;
  });
  await publishRest(server, 'sdk.d', { n: 1 });
  await page.waitForFunction(() => window.sdkTest.got.length === 1);
  const ack = await page.evaluate(() => window.sdkTest.client.publish('sdk.d', { n: 2 }));
  assert.equal(ack.offset, 2);
  await page.waitForFunction(() => window.sdkTest.otherGot.length === 2);
  assert.deepEqual(await page.evaluate(() => window.sdkTest.doc.patch({ title: 'from the page' })), { revision: 1 });
  const served = await (await fetch(`${server.http}/api/sync/document?topic=sdk.doc`)).json();
  assert.deepEqual(served.data, { title: 'from the page' });

  // The same port, a new process (memory stores: a new epoch).
  await server.stop();
  const again = await startServer({ ...ENV, LISTEN_ADDR: `127.0.0.1:${server.port}` }, { single: true });
  servers.push(again);
  await page.waitForFunction(() => window.sdkTest.states.at(-1) === 'connected' && window.sdkTest.states.includes('disconnected'), null, { timeout: 10000 });
  await page.waitForFunction(() => window.sdkTest.lost === 1 && window.sdkTest.doc.synced);
  await publishRest(again, 'sdk.d', { n: 3 });
  await page.waitForFunction(() => window.sdkTest.got.length === 2);
  assert.deepEqual(await page.evaluate(() => window.sdkTest.got), [{ n: 1 }, { n: 3 }]);
  assert.deepEqual(await page.evaluate(() => [window.sdkTest.doc.revision, window.sdkTest.doc.value]), [0, null]);
  await context.close();
  assert.deepEqual(pageErrors, []);
});

// What a page shows of the board: the cards' texts in order.
const shownCards = (page) => page.$$eval('#cards li .text', (items) => items.map((item) => item.textContent));
const boardOf = (page) => page.evaluate(() => ({ revision: window.demo.board.revision, value: window.demo.board.value }));

async function addCardByHand(page, text) {
  await page.fill('#card-text', text);
  await page.press('#card-text', 'Enter');
}

test('the demo: two browsers edit one board at once and converge; one goes offline, edits, comes back, and both converge', async () => {
  const server = await startServer(ENV, { single: true });
  servers.push(server);
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  const a = await openPage(contextA, `${server.http}/?user=ann`);
  const b = await openPage(contextB, `${server.http}/?user=ben`);
  for (const page of [a, b]) await page.waitForFunction(() => window.demo?.board.synced);
  // Who is here (the chat's presence): each window shows both users.
  for (const page of [a, b]) {
    await page.waitForFunction(() => document.getElementById('online').textContent === 'ann, ben', null, { timeout: 5000 });
  }

  await Promise.all([
    (async () => { for (let i = 1; i <= 4; i++) await addCardByHand(a, `ann ${i}`); })(),
    (async () => { for (let i = 1; i <= 4; i++) await addCardByHand(b, `ben ${i}`); })(),
  ]);
  await waitFor(async () => (await shownCards(a)).length === 8 && (await shownCards(b)).length === 8, 10000);
  assert.deepEqual(await shownCards(a), await shownCards(b));

  // Ben goes offline and edits; Ann edits meanwhile.
  await contextB.setOffline(true);
  await b.waitForFunction(() => window.demo.client.state !== 'connected');
  await addCardByHand(b, 'ben offline');
  await b.evaluate(async () => {
    const { cards } = window.demo.board.value;
    window.demo.editCard(cards.find((c) => c.text === 'ann 1').id, 'ann 1 (edited by ben offline)');
    window.demo.moveCard(cards.find((c) => c.text === 'ben 4').id, -3);
  });
  await a.evaluate(async () => {
    const { cards } = window.demo.board.value;
    await window.demo.deleteCard(cards.find((c) => c.text === 'ann 2').id);
    await window.demo.moveCard(cards.find((c) => c.text === 'ann 1').id, 2);
    await window.demo.addCard('ann while ben is away');
  });
  await a.fill('#chat-text', 'did you see this, ben?');
  await a.press('#chat-text', 'Enter');
  assert.equal((await shownCards(b)).includes('ann while ben is away'), false);

  await contextB.setOffline(false);
  await b.waitForFunction(() => window.demo.client.state === 'connected', null, { timeout: 10000 });
  await waitFor(async () => {
    const [boardA, boardB] = [await boardOf(a), await boardOf(b)];
    return boardA.revision === boardB.revision && JSON.stringify(boardA.value) === JSON.stringify(boardB.value) &&
      boardA.value.cards.length === 9 && (await b.evaluate(() => document.getElementById('pending').textContent)) === '0';
  }, 15000);
  const served = await (await fetch(`${server.http}/api/sync/document?topic=board.main`)).json();
  assert.deepEqual((await boardOf(a)).value, served.data);
  await waitFor(async () => JSON.stringify(await shownCards(a)) === JSON.stringify(await shownCards(b)), 5000);
  const texts = await shownCards(b);
  for (const text of ['ben offline', 'ann 1 (edited by ben offline)', 'ann while ben is away']) assert.ok(texts.includes(text), text);
  assert.equal(texts.includes('ann 2'), false);
  await b.waitForFunction(() => document.getElementById('messages').textContent.includes('did you see this, ben?'));
  // Back online, Ben's window asked who is here again.
  await b.waitForFunction(() => document.getElementById('online').textContent === 'ann, ben', null, { timeout: 5000 });
  await contextA.close();
  await contextB.close();
  assert.deepEqual(pageErrors, []);
});
