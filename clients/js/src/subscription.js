// One topic the application listens to. It outlives connections: after a reconnect the
// client subscribes again, on a durable topic with `since` = the last offset delivered,
// so the application sees every message once and in order across the gap, or learns
// through onStateLost that the gap could not be filled.
import { NatsyncError } from './errors.js';

export class Subscription {
  #client;
  #settle;

  constructor(client, topic, { onData, onStateLost, onUnsubscribed } = {}) {
    this.#client = client;
    this.topic = topic;
    this.onData = onData;
    this.onStateLost = onStateLost;
    this.onUnsubscribed = onUnsubscribed;
    // 'pending' (no ack yet on this connection) | 'subscribed' | 'unsubscribed'
    this.state = 'pending';
    // The last position delivered on a durable topic: { offset, epoch }; null elsewhere.
    this.position = null;
    this.ready = new Promise((resolve, reject) => { this.#settle = { resolve, reject }; });
    this.ready.catch(() => {});  // the application may never await it
  }

  unsubscribe() {
    if (this.state === 'unsubscribed') return;
    this.state = 'unsubscribed';
    this.#client._forget(this);
    this.#settle?.reject(new NatsyncError('closed', 'unsubscribed before the first ack'));
    this.#settle = null;
  }

  // The connection was lost: the next one subscribes again.
  _unsynced() {
    if (this.state !== 'unsubscribed') this.state = 'pending';
  }

  // The message to send on (re)connect.
  _subscribeMessage() {
    const msg = { type: 'subscribe', topic: this.topic };
    if (this.position) msg.since = { offset: this.position.offset, epoch: this.position.epoch };
    return msg;
  }

  _acked(ack) {
    if (this.state === 'unsubscribed') return;
    const asked = Boolean(this.position);
    this.state = 'subscribed';
    if (ack.offset !== undefined) {
      // A gap that could not be filled: start again from where the stream stands.
      if (asked && ack.recovered === false) {
        this.position = { offset: ack.offset, epoch: ack.epoch };
        this.#client._call(this.onStateLost, { topic: this.topic, offset: ack.offset, epoch: ack.epoch });
      } else if (!asked) {
        this.position = { offset: ack.offset, epoch: ack.epoch };
      }
    }
    this.#settle?.resolve(this);
    this.#settle = null;
  }

  _refused(err) {
    this.state = 'unsubscribed';
    this.#client._forget(this);
    if (this.#settle) this.#settle.reject(err);
    else this.#client._emitError(err);
    this.#settle = null;
  }

  _data(msg) {
    if (this.state === 'unsubscribed') return;
    if (msg.offset !== undefined) {
      const last = this.position;
      // A message the application already has (a replay overlapping the live path).
      if (last && last.epoch === msg.epoch && msg.offset <= last.offset) return;
      this.position = { offset: msg.offset, epoch: msg.epoch };
    }
    this.#client._call(this.onData, msg.data, { topic: this.topic, offset: msg.offset, epoch: msg.epoch });
  }

  // The server ended it (a refreshed token no longer allows the topic).
  _ended() {
    this.state = 'unsubscribed';
    this.#client._forget(this);
    this.#client._call(this.onUnsubscribed, { topic: this.topic });
  }

  _closed(err) {
    this.#settle?.reject(err);
    this.#settle = null;
  }
}
