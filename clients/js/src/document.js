// A shared JSON document (docs/documents.md): the client's copy follows the server's
// consecutive revisions. After a reconnect it resubscribes with `since` = its revision
// and ends identical to the server's, from the changes it missed or from a fresh
// snapshot; a revision gap (never expected) is repaired the same way, not ignored.
import { applyChange } from './apply_change.js';
import { NatsyncError } from './errors.js';
import { TopicTarget } from './topic_target.js';

// The body of a change as the server echoes it (same key order, compact): how a change
// this client wrote is recognised among the ones the server broadcasts.
export const changeKey = (change) =>
  JSON.stringify(change.ops ? { ops: change.ops } : { data: change.data, replace: Boolean(change.replace) });

// state: 'pending' | 'subscribed' (acked, catching up) | 'synced' | 'closed'
export class SharedDocument extends TopicTarget {
  #target = null;  // the revision the subscribe ack announced; synced once reached
  #own = new Set();  // revisions this client's changes were acked at, until they arrive

  constructor(client, topic, { onChange, onUnsubscribed } = {}) {
    super(client, topic, 'closed', onUnsubscribed);
    this.onChange = onChange;
    this.value = null;
    this.revision = 0;
    this.epoch = '';
  }

  // RFC 7396 merge patch; resolves with { revision } once stored.
  patch(data, { ifRevision } = {}) {
    return this.#change({ data }, ifRevision);
  }

  // RFC 6902 operations.
  applyOps(ops, { ifRevision } = {}) {
    return this.#change({ ops }, ifRevision);
  }

  // The whole document.
  replace(value, { ifRevision } = {}) {
    return this.#change({ data: value, replace: true }, ifRevision);
  }

  close() {
    this.end('document closed before its snapshot');
  }

  get synced() {
    return this.state === 'synced';
  }

  #change(change, ifRevision) {
    if (this.ended) return Promise.reject(new NatsyncError('closed', 'document closed'));
    const msg = { type: 'patch', topic: this.topic, ...change };
    if (ifRevision !== undefined) msg.if_revision = ifRevision;
    return this._client._enqueue(msg, { document: this, key: changeKey(change) });
  }

  _subscribeMessage() {
    const msg = { type: 'subscribe', topic: this.topic };
    if (this.epoch) msg.since = { revision: this.revision, epoch: this.epoch };
    return msg;
  }

  _acked(ack) {
    if (this.ended) return;
    this.state = 'subscribed';
    this.#target = ack.revision;
    if (ack.recovered === true) this.#checkSynced();  // the missed changes follow (maybe none)
  }

  _snapshot(msg) {
    if (this.ended) return;
    this.value = msg.data;
    this.revision = msg.revision;
    this.epoch = msg.epoch;
    this._client._call(this.onChange, this.value, { revision: this.revision, local: false, snapshot: true });
    this.#checkSynced();
  }

  _patch(msg) {
    if (this.ended || this.state === 'pending') return;
    if (msg.revision <= this.revision) return;  // already applied
    if (msg.revision !== this.revision + 1) {
      this._client._resubscribe(this);  // a gap: repair it from the server
      return;
    }
    this.value = applyChange(this.value, msg);
    this.revision = msg.revision;
    const local = this.#own.delete(msg.revision) || this._client._ownChange(this, changeKey(msg), msg.revision);
    this._client._call(this.onChange, this.value, { revision: this.revision, local });
    this.#checkSynced();
  }

  // This client's change was acked at `revision` (its broadcast may come before or after).
  _ownRevision(revision) {
    if (revision > this.revision) this.#own.add(revision);
  }


  #checkSynced() {
    if (this.state !== 'subscribed' || this.#target === null || this.revision < this.#target) return;
    this.state = 'synced';
    this._resolveReady();
    this._client._documentSynced(this);
  }
}
