// The natsync admin page (ADMIN_UI=on; docs/operations.md). No framework, no build step:
// it polls the server's own endpoints with the credential the operator typed (kept in
// sessionStorage, sent as Authorization: Bearer, never put in a URL):
//   GET /metrics every second (counters -> rates, the charts), GET /api/sync/status (the
//   nodes), GET /api/sync/topics and /api/sync/presence every 2 s; POST /api/sync/publish
//   and /api/sync/disconnect for the actions.
'use strict';

const POLL_MS = 1000;
const HISTORY_POINTS = 300;  // 5 minutes at one point a second
const $ = (id) => document.getElementById(id);
const state = { credential: sessionStorage.getItem('natsync-admin') || '', timer: null, tick: 0, last: null,
  series: { connections: [], in: [], out: [] }, presenceTopic: '' };

async function call(path, options = {}) {
  const response = await fetch(path, { ...options, cache: 'no-store',
    headers: { ...(options.headers || {}), Authorization: `Bearer ${state.credential}` } });
  if (response.status === 401 || response.status === 403) {
    logout('The server refused this key or token.');
    throw new Error('unauthorized');
  }
  return response;
}

// Prometheus text -> { name: total over its label sets }.
function parseMetrics(text) {
  const totals = {};
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const space = line.lastIndexOf(' ');
    const brace = line.indexOf('{');
    const name = line.slice(0, brace > 0 && brace < space ? brace : space);
    totals[name] = (totals[name] || 0) + Number(line.slice(space + 1));
  }
  return totals;
}

function text(id, value) { $(id).textContent = value; }
function format(n) {
  if (n >= 10000) return `${(n / 1000).toFixed(n >= 100000 ? 0 : 1)}k`;
  return n >= 10 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1);
}

function row(cells, onClick) {
  const tr = document.createElement('tr');
  for (const [value, className] of cells) {
    const td = document.createElement('td');
    td.textContent = value;
    if (className) td.className = className;
    tr.appendChild(td);
  }
  if (onClick) { tr.className = 'clickable'; tr.addEventListener('click', onClick); }
  return tr;
}

// One SVG line chart of `lines` ([{ points, className }]), scaled to their largest value.
function drawChart(svg, lines) {
  const width = 600, height = 160, left = 40, bottom = 20;
  const max = Math.max(1, ...lines.flatMap((l) => l.points));
  const parts = [];
  for (let i = 0; i <= 4; i++) {
    const y = ((height - bottom) * i) / 4;
    parts.push(`<line class="grid" x1="${left}" x2="${width}" y1="${y}" y2="${y}"/>`,
      `<text x="2" y="${y + 4}">${format((max * (4 - i)) / 4)}</text>`);
  }
  for (const { points, className } of lines) {
    const step = (width - left) / (HISTORY_POINTS - 1);
    const offset = HISTORY_POINTS - points.length;
    const coords = points.map((v, i) => `${(left + (offset + i) * step).toFixed(1)},${((height - bottom) * (1 - v / max)).toFixed(1)}`);
    if (coords.length) parts.push(`<polyline class="${className}" points="${coords.join(' ')}"/>`);
  }
  parts.push(`<text x="${left}" y="${height - 4}">-5 min</text><text x="${width - 30}" y="${height - 4}">now</text>`);
  svg.innerHTML = parts.join('');
}

function push(series, value) {
  series.push(value);
  if (series.length > HISTORY_POINTS) series.shift();
}

async function pollMetrics() {
  const metrics = parseMetrics(await (await call('/metrics')).text());
  const now = performance.now();
  // In: publications made on or reaching this node (clients' syncs, REST, the library,
  // other nodes); out: their deliveries, one per recipient.
  const totalIn = metrics.natsync_publications_total || 0;
  const totalOut = metrics.natsync_deliveries_total || 0;
  let rateIn = 0, rateOut = 0;
  if (state.last) {
    const seconds = Math.max(0.001, (now - state.last.at) / 1000);
    rateIn = Math.max(0, (totalIn - state.last.in) / seconds);
    rateOut = Math.max(0, (totalOut - state.last.out) / seconds);
  }
  state.last = { at: now, in: totalIn, out: totalOut };
  text('connections', format(metrics.natsync_connections || 0));
  text('users', format(metrics.natsync_users || 0));
  text('rate-in', format(rateIn));
  text('rate-out', format(rateOut));
  text('broker', metrics.natsync_broker_connected ? 'connected' : 'disconnected');
  push(state.series.connections, metrics.natsync_connections || 0);
  push(state.series.in, rateIn);
  push(state.series.out, rateOut);
  drawChart($('chart-connections'), [{ points: state.series.connections, className: 'connections' }]);
  drawChart($('chart-messages'), [{ points: state.series.in, className: 'in' }, { points: state.series.out, className: 'out' }]);
}

async function pollStatus() {
  const status = await (await call('/api/sync/status')).json();
  text('node-name', status.node);
  $('nodes').replaceChildren(...status.nodes.map((n) =>
    row([[n.node], [String(n.connections)], [n.state, n.state === 'up' ? '' : 'silent']])));
}

async function pollTopics() {
  const pattern = $('topic-filter').value.trim();
  const response = await call(`/api/sync/topics${pattern ? `?pattern=${encodeURIComponent(pattern)}` : ''}`);
  if (!response.ok) { text('topics-note', (await response.json()).error); return; }
  const { topics, truncated } = await response.json();
  $('topics').replaceChildren(...topics.slice(0, 100).map((t) =>
    row([[t.topic], [String(t.subscribers)]], () => { $('presence-topic').value = t.topic; showPresence(t.topic); })));
  text('topics-note', topics.length ? (truncated || topics.length > 100 ? 'the most subscribed are shown' : '') : 'no topic has a subscriber');
}

async function showPresence(topic) {
  state.presenceTopic = topic;
  const response = await call(`/api/sync/presence?topic=${encodeURIComponent(topic)}`);
  const body = await response.json();
  if (!response.ok) {
    text('presence-counts', body.error);
    $('presence-members').replaceChildren();
    return;
  }
  text('presence-counts', `${body.connections} connections, ${body.users} users${body.truncated ? ' (list truncated)' : ''}`);
  $('presence-members').replaceChildren(...body.members.map((m) => {
    const li = document.createElement('li');
    li.textContent = `${m.user_id} (${m.client_id})`;
    return li;
  }));
}

async function poll() {
  try {
    const jobs = [pollMetrics(), pollStatus()];
    if (state.tick++ % 2 === 0) {
      jobs.push(pollTopics());
      if (state.presenceTopic) jobs.push(showPresence(state.presenceTopic));
    }
    await Promise.all(jobs);
    text('live', `live · ${new Date().toLocaleTimeString()}`);
  } catch (error) {
    if (error.message !== 'unauthorized') text('live', `not reachable: ${error.message}`);
  }
}

function showResult(message, ok) {
  $('result').textContent = message;
  $('result').className = ok ? '' : 'error';
}

async function act(path, body, done) {
  try {
    const response = await call(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await response.json();
    showResult(response.ok ? done : `${answer.code}: ${answer.error}`, response.ok);
  } catch (error) {
    if (error.message !== 'unauthorized') showResult(error.message, false);
  }
}

function start() {
  $('login').hidden = true;
  $('dashboard').hidden = false;
  $('logout').hidden = false;
  state.last = null;
  poll();
  state.timer = setInterval(poll, POLL_MS);
}

function logout(message = '') {
  clearInterval(state.timer);
  state.credential = '';
  sessionStorage.removeItem('natsync-admin');
  $('dashboard').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  text('login-error', message);
}

$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  state.credential = $('credential').value.trim();
  $('credential').value = '';
  try {
    await call('/metrics');
    sessionStorage.setItem('natsync-admin', state.credential);
    text('login-error', '');
    start();
  } catch (error) {
    if (error.message !== 'unauthorized') text('login-error', `the server did not answer: ${error.message}`);
  }
});
$('logout').addEventListener('click', () => logout());
$('presence-form').addEventListener('submit', (event) => { event.preventDefault(); showPresence($('presence-topic').value.trim()); });
$('publish-form').addEventListener('submit', (event) => {
  event.preventDefault();
  let data;
  try { data = JSON.parse($('publish-data').value); } catch { showResult('data is not valid JSON', false); return; }
  const topic = $('publish-topic').value.trim();
  act('/api/sync/publish', { topic, data }, `published to ${topic}`);
});
$('disconnect-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const user = $('disconnect-user').value.trim();
  act('/api/sync/disconnect', { user_id: user, reason: $('disconnect-reason').value, reconnect: $('disconnect-reconnect').checked },
    `disconnected ${user}`);
});

if (state.credential) start();
