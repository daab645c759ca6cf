// The demo: a board of cards (one shared document, `board.main`) and a chat (a durable
// topic, `chat.main`, with who is here: its presence), written against natsync-client alone. Open it in two windows,
// go offline in one (DevTools → Network → Offline), edit in both, come back: both
// converge. window.demo exposes the client for the browser tests.
import { createClient } from './natsync-client.js';

const params = new URLSearchParams(location.search);
const user = params.get('user') || `guest-${Math.random().toString(36).slice(2, 6)}`;
const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
// Development mode (no JWT on the server): the user id goes in the URL. With JWT_SECRET
// set, pass { getToken } instead and leave user_id out.
const client = createClient(`${scheme}://${location.host}/ws/sync?user_id=${encodeURIComponent(user)}`);

const $ = (id) => document.getElementById(id);
$('who').textContent = user;
client.on('state', ({ to }) => { $('state').textContent = to; $('state').className = `state ${to}`; });
client.on('error', (err) => console.warn('natsync:', err.code ?? '', err.message));

// --- the board: { cards: [{ id, text }] } -------------------------------------------------

const board = client.document('board.main', { onChange: render });
let pending = 0;
const newId = () => Math.random().toString(36).slice(2, 10);
const cards = () => board.value?.cards ?? [];

// A change addressed by card id, not by index: the operations start with a `test` of the
// card's id at the index they were computed for, so a change made on an outdated board
// (offline, or racing another window) fails as patch_failed instead of hitting another
// card; it is then computed again on the newer board.
function changeCard(id, opsAt) {
  return track((async () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const index = cards().findIndex((card) => card.id === id);
      if (index < 0) return;  // deleted meanwhile
      try {
        await board.applyOps([{ op: 'test', path: `/cards/${index}/id`, value: id }, ...opsAt(index)]);
        return;
      } catch (err) {
        if (err.code !== 'patch_failed') throw err;
        await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));  // the newer board is on its way
      }
    }
  })());
}

function track(promise) {
  pending++;
  $('pending').textContent = pending;
  return promise.finally(() => { pending--; $('pending').textContent = pending; });
}

async function addCard(text) {
  if (board.value === null) {
    // The first card on a new board creates it; another window may have been first.
    await track(board.replace({ cards: [] }, { ifRevision: 0 })).catch((err) => {
      if (err.code !== 'revision_conflict') throw err;
    });
  }
  await track(board.applyOps([{ op: 'add', path: '/cards/-', value: { id: newId(), text } }]));
}

const editCard = (id, text) => changeCard(id, (i) => [{ op: 'replace', path: `/cards/${i}/text`, value: text }]);
const deleteCard = (id) => changeCard(id, (i) => [{ op: 'remove', path: `/cards/${i}` }]);
const moveCard = (id, by) => changeCard(id, (i) => {
  const to = Math.max(0, Math.min(cards().length - 1, i + by));
  return to === i ? [] : [{ op: 'move', from: `/cards/${i}`, path: `/cards/${to}` }];
});

function button(label, title, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'small';
  b.textContent = label;
  b.title = title;
  b.addEventListener('click', onClick);
  return b;
}

function render() {
  $('revision').textContent = board.revision;
  const list = $('cards');
  const editing = list.querySelector('input');
  if (editing && document.activeElement === editing) return;  // do not take a half-typed edit away
  list.replaceChildren(...cards().map((card) => {
    const li = document.createElement('li');
    li.dataset.id = card.id;
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = card.text;
    li.append(text,
      button('✎', 'edit', () => {
        const input = document.createElement('input');
        input.value = card.text;
        input.addEventListener('keydown', (e) => {
          if (e.key === 'Enter') { input.blur(); editCard(card.id, input.value.trim() || card.text); }
          if (e.key === 'Escape') { input.blur(); render(); }
        });
        text.replaceWith(input);
        input.focus();
      }),
      button('↑', 'move up', () => moveCard(card.id, -1)),
      button('↓', 'move down', () => moveCard(card.id, 1)),
      button('✕', 'delete', () => deleteCard(card.id)));
    return li;
  }));
}

$('add-card').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('card-text').value.trim();
  if (!text) return;
  $('card-text').value = '';
  addCard(text).catch((err) => console.warn(err));
});

// --- the chat: a durable topic, so a window that was away gets what it missed ------------

const shown = new Set();
function showMessage({ id, from, text }) {
  if (shown.has(id)) return;  // our own, already shown, replayed after a reconnect
  shown.add(id);
  const li = document.createElement('li');
  const who = document.createElement('b');
  who.textContent = `${from}: `;
  li.append(who, text);
  $('messages').append(li);
  li.scrollIntoView({ block: 'end' });
}
const chat = client.subscribe('chat.main', {
  onData: showMessage,
  onStateLost: () => {
    const li = document.createElement('li');
    li.className = 'note';
    li.textContent = 'some earlier messages could not be recovered';
    $('messages').append(li);
  },
});

$('chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('chat-text').value.trim();
  if (!text) return;
  $('chat-text').value = '';
  const message = { id: newId(), from: user, text };
  showMessage(message);  // the server sends a `sync` to every subscriber but its sender
  track(client.publish('chat.main', message)).catch((err) => console.warn(err));
});

// --- who is here: the chat topic's presence (PRESENCE_TOPICS on the server) ---------------

const here = new Map();  // client id -> user id: one user may have several windows
function showHere() {
  $('online').textContent = [...new Set(here.values())].sort().join(', ') || '—';
}
async function loadHere() {
  try {
    const { members } = await client.presence('chat.main');
    here.clear();
    for (const member of members) here.set(member.client_id, member.user_id);
    showHere();
  } catch {
    $('online').textContent = 'n/a (the server keeps no presence for chat.main)';
  }
}
chat.on('join', ({ clientId, userId }) => {
  here.set(clientId, userId);
  showHere();
});
chat.on('leave', ({ clientId }) => {
  here.delete(clientId);
  showHere();
});
chat.on('summary', loadHere);  // many came and went at once: ask for the list
chat.ready.then(loadHere);
// Back after a reconnect: ask again once the subscription is restored.
client.on('connected', () => setTimeout(loadHere, 300));

window.demo = { client, board, chat, addCard, editCard, deleteCard, moveCard, user };
