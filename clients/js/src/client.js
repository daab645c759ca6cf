// The client's connection state machine: connecting -> connected -> disconnected ->
// connecting ... until closed. It owns one WebSocket at a time; subscriptions,
// documents and the outbox outlive it and are restored on the next one, in one burst.
//
// Why each close leads where it does is in CLOSE_POLICY below; the README has the
// same table for application developers.
import { Emitter } from './emitter.js';
import { reconnectDelay } from './backoff.js';
import { NatsyncError, fromServerError } from './errors.js';
import { Outbox } from './outbox.js';
import { Subscription, topicMatches } from './subscription.js';
import { SharedDocument } from './document.js';

const DEFAULTS = {
  minReconnectDelay: 500,
  maxReconnectDelay: 20000,
  timeout: 5000,
  outboxLimit: 1000,
  heartbeatInterval: 20000,  // a ping after this long without a frame from the server
  connectTimeout: 10000,     // from opening the socket to the server's `connect`
  stableAfter: 5000,         // a connection that lasted this long resets the backoff
};

// Close codes after which reconnecting cannot help: the same client would be refused
// again (its own bug, a policy). Auth codes (4001, 4003) get one more try when
// `getToken` can provide a new token. Every other code, and 1006 (the network), reconnects.
const CLOSE_POLICY = {
  1000: 'stop',  // we said disconnect
  1002: 'stop', 1003: 'stop', 1007: 'stop', 1009: 'stop',
  4001: 'auth', 4003: 'auth',
  4030: 'stop',
  4011: 'stop',  // the server API disconnected this user: do not come back
};
// The error a stop reports when the server said nothing before closing.
const CLOSE_ERRORS = {
  1000: 'closed', 1002: 'protocol_error', 1003: 'unsupported_data', 1007: 'protocol_error',
  1009: 'message_too_big', 4001: 'not_authenticated', 4003: 'token_expired', 4030: 'too_many_connections',
  4011: 'disconnected',
};
const AUTH_ERRORS = new Set(['auth_failed', 'token_expired', 'not_authenticated']);

// The `exp` claim of a JWT, in ms; undefined if it has none or is not a JWT.
function tokenExpiry(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const exp = JSON.parse(globalThis.atob(part)).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export class Client extends Emitter {
  #urls;
  #options;
  #WebSocket;
  #ws = null;
  #attempt = 0;
  #urlIndex = 0;
  #timers = {};
  #nextId = 0;
  #requests = new Map();  // id -> { onAck, onError }
  #topics = new Map();    // topic -> Subscription | SharedDocument
  #patterns = new Set();  // the Subscriptions of #topics whose topic is a pattern
  #outbox;
  #instance = Math.random().toString(36).slice(2, 10);
  #publishes = 0;
  #token;
  #authRetried = false;
  #serverSaid = null;      // the server's `disconnect` message on this connection
  #authTrouble = null;     // an auth error the server sent on this connection
  #lastFrameAt = 0;
  #removeBrowserHooks = () => {};

  constructor(url, options = {}) {
    super();
    this.#urls = Array.isArray(url) ? [...url] : [url];
    this.#options = { ...DEFAULTS, ...options };
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (!this.#WebSocket) throw new TypeError('no WebSocket: pass options.WebSocket (e.g. the npm `ws` package)');
    this.#token = options.token;
    this.#outbox = new Outbox(this.#options.outboxLimit);
    this.state = 'connecting';
    this.clientId = '';
    this.userId = '';
    this.#hookBrowser();
    this.#open();
  }

  subscribe(topic, handlers = {}) {
    return this.#add(new Subscription(this, topic, handlers));
  }

  document(topic, handlers = {}) {
    return this.#add(new SharedDocument(this, topic, handlers));
  }

  // `sync`: resolves on the server's ack ({ offset, epoch, duplicate } on a durable
  // topic), rejects with a NatsyncError. The idempotency key (made here when not given)
  // lets a resend after a lost ack be applied once on a durable topic.
  publish(topic, data, { idempotencyKey } = {}) {
    const key = idempotencyKey ?? `${this.#instance}-${++this.#publishes}`;
    return this.#enqueue({ type: 'sync', topic, data, idempotency_key: key });
  }

  // Who is subscribed to a PRESENCE_TOPICS topic, on every node:
  // { connections, users, members: [{ user_id, client_id }], truncated? }.
  presence(topic) {
    if (this.state === 'closed') return Promise.reject(new NatsyncError('closed', 'client closed'));
    return new Promise((resolve, reject) => {
      const ask = () => {
        const timer = setTimeout(() => reject(new NatsyncError('timeout', `no answer within ${this.#options.timeout} ms`)),
          this.#options.timeout);
        this.#request({ type: 'presence', topic }, {
          onAck: (answer) => { clearTimeout(timer); resolve(answer.data); },
          onError: (err) => { clearTimeout(timer); reject(err); },
        });
      };
      if (this.state === 'connected') return ask();
      // Asked while (re)connecting: once connected, or not at all.
      const off = this.on('state', ({ to }) => {
        if (to === 'connected') { off(); ask(); }
        if (to === 'closed') { off(); reject(new NatsyncError('closed', 'client closed')); }
      });
      return undefined;
    });
  }

  close() {
    if (this.state === 'closed') return;
    this.#stop(new NatsyncError('closed', 'client closed'), { code: 1000, reason: 'client closed', reconnect: false });
  }

  // --- used by Subscription and SharedDocument --------------------------------------

  _enqueue(msg, extra) {
    return this.#enqueue(msg, extra);
  }

  _forget(target) {
    if (this.#topics.get(target.topic) !== target) return;
    this.#topics.delete(target.topic);
    this.#patterns.delete(target);
    if (target instanceof SharedDocument) this.#outbox.dropFor(target, new NatsyncError('closed', 'document closed'));
    if (this.state === 'connected') this.#request({ type: 'unsubscribe', topic: target.topic }, {});
  }

  _resubscribe(target) {
    target._unsynced();
    if (this.state === 'connected') this.#subscribe(target);
  }

  _documentSynced() {
    this.#flush();
  }

  // A change the server broadcast: was it this client's? (`local` for onChange.)
  _ownChange(document, key, revision) {
    const entry = this.#outbox.findChange(document, key);
    if (!entry || !(entry.sent || entry.lost)) return false;
    // Sent on a connection that was lost before its ack: the catch-up shows it stored.
    if (entry.lost && !entry.sent) this.#outbox.settle(entry, null, { revision });
    return true;
  }

  _call(fn, ...args) {
    if (!fn) return;
    try {
      fn(...args);
    } catch (err) {
      this.emit('error', err);
    }
  }

  _emitError(err) {
    this.emit('error', err);
  }

  // --- the connection ------------------------------------------------------------------

  async #open() {
    this.#setState('connecting');
    let token = this.#token;
    if (this.#options.getToken) {
      try {
        token = await this.#options.getToken();
      } catch (err) {
        this.emit('error', new NatsyncError('auth_failed', `getToken failed: ${err?.message ?? err}`));
        if (this.state === 'connecting') this.#scheduleReconnect();
        return;
      }
      if (this.state !== 'connecting') return;  // closed meanwhile
    }
    this.#token = token;
    // The token goes in-band (`auth`), not in the URL: URLs end up in logs, and a
    // refused token is then an error the client can read (a refused upgrade looks the
    // same as a network failure to a browser).
    const url = this.#urls[this.#urlIndex++ % this.#urls.length];
    let ws;
    try {
      ws = new this.#WebSocket(url);
    } catch (err) {
      this.#stop(new NatsyncError('invalid_url', String(err?.message ?? err)), { code: 0, reason: 'invalid url', reconnect: false });
      return;
    }
    this.#ws = ws;
    this.#serverSaid = null;
    ws.onmessage = (event) => this.#onFrame(ws, event.data);
    ws.onclose = (event) => this.#onSocketClosed(ws, event.code, event.reason);
    ws.onerror = () => {};  // a close event follows
    this.#timer('connect', this.#options.connectTimeout, () => this.#drop(ws, 'no connect message in time'));
  }

  #onFrame(ws, raw) {
    if (ws !== this.#ws) return;
    this.#lastFrameAt = Date.now();
    let msg;
    try {
      msg = JSON.parse(typeof raw === 'string' ? raw : String(raw));
    } catch {
      return;  // the server sends JSON only; nothing to act on
    }
    switch (msg.type) {
      case 'connect': return this.#onConnect(msg.data ?? {});
      case 'data': return this.#onData(msg);
      case 'snapshot': return this.#documentOf(msg.topic)?._snapshot(msg);
      case 'patch': return msg.id === undefined ? this.#documentOf(msg.topic)?._patch(msg) : this.#answer(msg);
      case 'unsubscribe': return msg.id === undefined ? this.#onServerUnsubscribe(msg) : this.#answer(msg);
      case 'subscribe': return msg.server && msg.id === undefined ? this.#onServerSubscribe(msg) : this.#answer(msg);
      case 'join': case 'leave': case 'presence_summary': return this.#subscriptionOf(msg.topic)?._presence(msg);
      case 'error': return msg.id === undefined ? this.#onServerError(msg) : this.#answer(msg);
      case 'disconnect': this.#serverSaid = msg.data ?? {}; return undefined;
      default: return msg.id === undefined ? undefined : this.#answer(msg);  // subscribe, sync, auth, pong
    }
  }

  #onConnect(data) {
    this.clientId = data.client_id ?? '';
    if (this.#token) this.#authenticate();
    else this.#connected(data.user_id ?? '');
  }

  // Auth refused: one more token from getToken on the same connection, then stop.
  #authenticate() {
    this.#request({ type: 'auth', token: this.#token }, {
      onAck: (ack) => this.#connected(ack.data?.user_id ?? ''),
      onError: async (err) => {
        if (!AUTH_ERRORS.has(err.code) || !this.#options.getToken || this.#authRetried) {
          this.emit('error', err);
          this.#stop(err, { code: 0, reason: err.message, reconnect: false });
          return;
        }
        this.#authRetried = true;
        const ws = this.#ws;
        try {
          this.#token = await this.#options.getToken();
        } catch (failure) {
          const error = new NatsyncError('auth_failed', `getToken failed: ${failure?.message ?? failure}`);
          this.emit('error', error);
          this.#stop(error, { code: 0, reason: error.message, reconnect: false });
          return;
        }
        if (ws === this.#ws && ws) this.#authenticate();
      },
    });
  }

  #connected(userId) {
    clearTimeout(this.#timers.connect);
    this.userId = userId;
    this.#setState('connected');
    this.emit('connected', { clientId: this.clientId, userId: this.userId });
    // Everything in one burst; answers come back in any order, matched by id.
    for (const target of this.#topics.values()) this.#subscribe(target);
    this.#flush();
    this.#timer('stable', this.#options.stableAfter, () => { this.#attempt = 0; this.#authRetried = false; });
    this.#heartbeat();
    this.#scheduleTokenRefresh();
  }

  #onData(msg) {
    if (msg.topic === undefined) {
      this.emit('message', msg.data);
      return;
    }
    // The topic's own subscription and every pattern matching it: one frame each from
    // the server, handed to each of this application's subscriptions that wants it.
    const target = this.#topics.get(msg.topic);
    if (target instanceof Subscription) target._data(msg);
    for (const pattern of this.#patterns) {
      if (topicMatches(pattern.topic, msg.topic)) pattern._data(msg);
    }
  }

  // The server API subscribed this connection: a Subscription the application gets in
  // the `serverSubscribe` event (set its onData). Not restored on reconnect: the
  // server's subscriptions belong to the connection.
  #onServerSubscribe(msg) {
    let target = this.#topics.get(msg.topic);
    if (!target) {
      target = new Subscription(this, msg.topic, {}, true);
      this.#topics.set(msg.topic, target);
      if (target.pattern) this.#patterns.add(target);
    }
    target._acked(msg);
    this.emit('serverSubscribe', { topic: msg.topic, subscription: target });
  }

  #onServerUnsubscribe(msg) {
    const target = this.#topics.get(msg.topic);
    target?._ended();
    if (msg.server) this.emit('serverUnsubscribe', { topic: msg.topic });
  }

  #subscriptionOf(topic) {
    const target = this.#topics.get(topic);
    return target instanceof Subscription ? target : undefined;
  }

  #onServerError(msg) {
    const err = fromServerError(msg);
    this.emit('error', err);
    if (AUTH_ERRORS.has(err.code)) this.#authTrouble = err;
  }

  #onSocketClosed(ws, code, reason) {
    if (ws !== this.#ws) return;
    this.#ws = null;
    this.#clearConnectionTimers();
    this.#requests.clear();
    this.#outbox.unsend();
    for (const target of [...this.#topics.values()]) {
      if (!target.server) {
        target._unsynced();
        continue;
      }
      // The server's subscriptions were for that connection only.
      this.#topics.delete(target.topic);
      this.#patterns.delete(target);
      target.state = target.endState;
      this._call(target.onUnsubscribed, { topic: target.topic });
    }
    if (this.state === 'closed') return;

    let policy = CLOSE_POLICY[code] ?? 'reconnect';
    if (this.#serverSaid && this.#serverSaid.reconnect === false) policy = 'stop';
    if (this.#authTrouble && policy === 'reconnect' && code !== 1006) policy = 'auth';
    if (policy === 'auth') policy = this.#options.getToken && !this.#authRetried ? 'retry-auth' : 'stop';
    // The server's `disconnect` says why in its own words; the close frame's reason is a code.
    const info = { code, reason: this.#serverSaid?.reason || reason || '', reconnect: policy !== 'stop' };
    const trouble = this.#authTrouble;
    this.#authTrouble = null;
    if (policy === 'stop') {
      const err = trouble ?? new NatsyncError(CLOSE_ERRORS[code] ?? 'disconnected', `closed: ${code} ${info.reason}`, { closeCode: code });
      this.emit('error', err);
      this.#stop(err, info);
      return;
    }
    this.#setState('disconnected');
    this.emit('disconnected', info);
    if (policy === 'retry-auth') {
      this.#authRetried = true;
      this.#timer('reconnect', this.#options.minReconnectDelay, () => this.#open());
      return;
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    if (this.state === 'closed') return;
    if (this.state !== 'disconnected') this.#setState('disconnected');
    const delay = reconnectDelay(this.#attempt++, this.#options.minReconnectDelay, this.#options.maxReconnectDelay);
    this.#timer('reconnect', delay, () => this.#open());
  }

  // Gives up on a socket that stopped answering; the close path then runs at once,
  // without waiting for a close handshake that a half-open connection never completes.
  #drop(ws, reason) {
    if (ws !== this.#ws) return;
    ws.onclose = null;
    ws.onmessage = null;
    try {
      ws.close();
    } catch {
      // already closing
    }
    this.#onSocketClosed(ws, 1006, reason);
  }

  #stop(err, info) {
    const was = this.state;
    this.#setState('closed');
    this.#clearConnectionTimers();
    clearTimeout(this.#timers.reconnect);
    this.#removeBrowserHooks();
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      try {
        if (ws.readyState === 1) ws.send('{"type":"disconnect"}');
        ws.close();
      } catch {
        // already closing
      }
    }
    this.#requests.clear();
    this.#outbox.rejectAll(err);
    for (const target of this.#topics.values()) target._closed(err);
    if (was !== 'disconnected') this.emit('disconnected', info);
  }

  #setState(to) {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    this.emit('state', { from, to });
  }

  #timer(name, ms, fn) {
    clearTimeout(this.#timers[name]);
    this.#timers[name] = setTimeout(fn, ms);
  }

  #clearConnectionTimers() {
    for (const name of ['connect', 'stable', 'heartbeat', 'refresh']) clearTimeout(this.#timers[name]);
  }

  // --- requests ------------------------------------------------------------------------

  #send(msg) {
    this.#ws.send(JSON.stringify(msg));
  }

  #request(msg, { onAck = () => {}, onError = (err) => this.emit('error', err) }) {
    const id = ++this.#nextId;
    this.#requests.set(id, { onAck, onError });
    this.#send({ ...msg, id });
    return id;
  }

  #answer(msg) {
    const pending = this.#requests.get(msg.id);
    if (!pending) return;
    this.#requests.delete(msg.id);
    if (msg.type === 'error') pending.onError(fromServerError(msg));
    else pending.onAck(msg);
  }

  #subscribe(target) {
    this.#request(target._subscribeMessage(), {
      onAck: (ack) => target._acked(ack),
      onError: (err) => {
        if (this.#topics.get(target.topic) !== target) return;
        // JetStream not ready yet (a fresh cluster): ask again after a while.
        if (err.code === 'broker_unavailable') {
          setTimeout(() => this.#topics.get(target.topic) === target && this._resubscribe(target), this.#options.minReconnectDelay);
        } else {
          target._refused(err);
        }
      },
    });
  }

  #add(target) {
    if (this.state === 'closed') throw new NatsyncError('closed', 'client closed');
    if (this.#topics.has(target.topic)) {
      throw new NatsyncError('already_subscribed', `already subscribed to ${target.topic}: use the existing subscription`);
    }
    this.#topics.set(target.topic, target);
    if (target.pattern) this.#patterns.add(target);
    if (this.state === 'connected') this.#subscribe(target);
    return target;
  }

  #documentOf(topic) {
    const target = this.#topics.get(topic);
    return target instanceof SharedDocument ? target : undefined;
  }

  #enqueue(msg, extra) {
    if (this.state === 'closed') return Promise.reject(new NatsyncError('closed', 'client closed'));
    const promise = this.#outbox.add(msg, extra);
    if (this.state === 'connected') this.#flush();
    return promise;
  }

  // Sends what the outbox holds, in order; a change to a document that is still
  // catching up waits (with everything after it) until the document is synced, so it
  // is not sent twice when the catch-up shows it was stored before the connection broke.
  #flush() {
    if (this.state !== 'connected') return;
    for (const entry of this.#outbox.sendable((e) => !e.document || e.document.synced)) {
      entry.sent = true;
      const id = this.#request(entry.msg, {
        onAck: (ack) => {
          if (entry.document) entry.document._ownRevision(ack.revision);
          const { type, topic, id: _id, ...result } = ack;
          this.#outbox.settle(entry, null, result);
        },
        onError: (err) => this.#outbox.settle(entry, err),
      });
      entry.timer = setTimeout(() => {
        this.#requests.delete(id);
        this.#outbox.settle(entry, new NatsyncError('timeout', `no answer within ${this.#options.timeout} ms`));
      }, this.#options.timeout);
    }
  }

  // --- keep-alive and tokens -----------------------------------------------------------

  // Browsers cannot see WebSocket pings, so a half-open connection is found with the
  // protocol's own ping: after heartbeatInterval without a frame, a ping must be
  // answered within `timeout`. Bound: heartbeatInterval + timeout.
  #heartbeat(delay = this.#options.heartbeatInterval) {
    this.#timer('heartbeat', delay, () => {
      const ws = this.#ws;
      if (!ws || this.state !== 'connected') return;
      const quiet = Date.now() - this.#lastFrameAt;
      if (quiet < this.#options.heartbeatInterval) return this.#heartbeat(this.#options.heartbeatInterval - quiet);
      const id = this.#request({ type: 'ping' }, { onAck: () => this.#heartbeat(), onError: () => this.#heartbeat() });
      this.#timer('heartbeat', this.#options.timeout, () => {
        if (this.#requests.has(id)) this.#drop(ws, `no pong within ${this.#options.timeout} ms`);
      });
      return undefined;
    });
  }

  // A new token from getToken before the current one expires, sent in-band (`auth`):
  // no reconnect, no lost subscription.
  #scheduleTokenRefresh() {
    if (!this.#options.getToken) return;
    const exp = tokenExpiry(this.#token ?? '');
    if (exp === undefined) return;
    const left = exp - Date.now();
    const delay = Math.max(0, left - Math.min(30000, left / 3));
    this.#timer('refresh', delay, async () => {
      let token;
      try {
        token = await this.#options.getToken();
      } catch (err) {
        this.emit('error', new NatsyncError('auth_failed', `getToken failed: ${err?.message ?? err}`));
        return;
      }
      if (this.state !== 'connected') return;
      this.#request({ type: 'auth', token }, {
        onAck: () => {
          this.#token = token;
          this.#scheduleTokenRefresh();
        },
      });
    });
  }

  // Browsers: `offline` gives the connection up at once (its changes go to the outbox
  // instead of a socket that may be dead); `online` ends the wait before the next attempt.
  #hookBrowser() {
    const target = globalThis.window;
    if (!target?.addEventListener) return;
    const online = () => {
      if (this.state === 'disconnected') {
        clearTimeout(this.#timers.reconnect);
        this.#open();
      }
    };
    const offline = () => {
      if (this.#ws) this.#drop(this.#ws, 'the browser went offline');
    };
    target.addEventListener('online', online);
    target.addEventListener('offline', offline);
    this.#removeBrowserHooks = () => {
      target.removeEventListener('online', online);
      target.removeEventListener('offline', offline);
    };
  }
}

export function createClient(url, options) {
  return new Client(url, options);
}
