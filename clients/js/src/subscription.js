// One topic the application listens to. It outlives connections: after a reconnect the
// client subscribes again, on a durable topic with `since` = the last offset delivered,
// so the application sees every message once and in order across the gap, or learns
// through onStateLost that the gap could not be filled.
import { TopicTarget } from './topic_target.js';

// state: 'pending' (no ack yet on this connection) | 'subscribed' | 'unsubscribed'
export class Subscription extends TopicTarget {
  constructor(client, topic, { onData, onStateLost, onUnsubscribed } = {}) {
    super(client, topic, 'unsubscribed', onUnsubscribed);
    this.onData = onData;
    this.onStateLost = onStateLost;
    // The last position delivered on a durable topic: { offset, epoch }; null elsewhere.
    this.position = null;
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
    if (ack.offset !== undefined) {
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
    if (msg.offset !== undefined) {
      const last = this.position;
      // A message the application already has (a replay overlapping the live path).
      if (last && last.epoch === msg.epoch && msg.offset <= last.offset) return;
      this.position = { offset: msg.offset, epoch: msg.epoch };
    }
    this._client._call(this.onData, msg.data, { topic: this.topic, offset: msg.offset, epoch: msg.epoch });
  }
}
