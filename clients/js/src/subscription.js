// One topic the application listens to. It outlives connections: after a reconnect the
// client subscribes again, on a durable topic with `since` = the last offset delivered,
// so the application sees every message once and in order across the gap, or learns
// through onStateLost that the gap could not be filled.
// A pattern (`chat.*`, `chat.>`) gets every matching topic's data, with the concrete
// topic in onData's meta; it recovers nothing across a gap (no `since`).
// Presence (PRESENCE_TOPICS): on('join' | 'leave' | 'summary', listener).
import { Emitter } from './emitter.js';
import { TopicTarget } from './topic_target.js';

// Whether topic pattern `pattern` matches `topic` (NATS rules: `*` one token, `>` the rest).
export function topicMatches(pattern, topic) {
  const want = pattern.split('.');
  const have = topic.split('.');
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '>') return have.length > i;
    if (i >= have.length || (want[i] !== '*' && want[i] !== have[i])) return false;
  }
  return want.length === have.length;
}

// state: 'pending' (no ack yet on this connection) | 'subscribed' | 'unsubscribed'
export class Subscription extends TopicTarget {
  #events = new Emitter();

  // `server`: made by the server API for this connection only (not restored on reconnect).
  constructor(client, topic, { onData, onStateLost, onUnsubscribed } = {}, server = false) {
    super(client, topic, 'unsubscribed', onUnsubscribed);
    this.onData = onData;
    this.onStateLost = onStateLost;
    this.pattern = /[*>]/.test(topic);
    this.server = server;
    // The last position delivered on a durable topic: { offset, epoch }; null elsewhere.
    this.position = null;
  }

  // Presence events of this topic: 'join' and 'leave' ({ topic, userId, clientId }),
  // 'summary' ({ topic, joins, leaves, connections, users }: many at once). Returns the
  // function that removes the listener.
  on(event, listener) {
    return this.#events.on(event, listener);
  }

  _presence(msg) {
    if (this.ended) return;
    const data = msg.data ?? {};
    if (msg.type === 'presence_summary') this.#events.emit('summary', { topic: this.topic, ...data });
    else this.#events.emit(msg.type, { topic: this.topic, userId: data.user_id, clientId: data.client_id });
  }

  unsubscribe() {
    this.end('unsubscribed before the first ack');
  }

  // The message to send on (re)connect.
  _subscribeMessage() {
    const msg = { type: 'subscribe', topic: this.topic };
    if (this.position) msg.since = { offset: this.position.offset, epoch: this.position.epoch };
    return msg;
  }

  _acked(ack) {
    if (this.ended) return;
    const asked = Boolean(this.position);
    this.state = 'subscribed';
    if (ack.offset !== undefined && !this.pattern) {
      // A gap that could not be filled: start again from where the stream stands.
      if (asked && ack.recovered === false) {
        this.position = { offset: ack.offset, epoch: ack.epoch };
        this._client._call(this.onStateLost, { topic: this.topic, offset: ack.offset, epoch: ack.epoch });
      } else if (!asked) {
        this.position = { offset: ack.offset, epoch: ack.epoch };
      }
    }
    this._resolveReady();
  }

  _data(msg) {
    if (this.ended) return;
    if (msg.offset !== undefined && !this.pattern) {
      const last = this.position;
      // A message the application already has (a replay overlapping the live path).
      if (last && last.epoch === msg.epoch && msg.offset <= last.offset) return;
      this.position = { offset: msg.offset, epoch: msg.epoch };
    }
    this._client._call(this.onData, msg.data, { topic: msg.topic, offset: msg.offset, epoch: msg.epoch });
  }
}
