// A shared JSON document (docs/documents.md): the client's copy follows the server's
// consecutive revisions. After a reconnect it resubscribes with `since` = its revision
// and ends identical to the server's, from the changes it missed or from a fresh
// snapshot; a revision gap (never expected) is repaired the same way, not ignored.
import { applyChange } from './apply_change.js';
import { NatsyncError } from './errors.js';

// The body of a change as the server echoes it (same key order, compact): how a change
// this client wrote is recognised among the ones the server broadcasts.
export const changeKey = (change) =>
  JSON.stringify(change.ops ? { ops: change.ops } : { data: change.data, replace: Boolean(change.replace) });

export class SharedDocument {
  #client;
  #settle;
  #target = null;  // the revision the subscribe ack announced; synced once reached
  #own = new Set();  // revisions this client's changes were acked at, until they arrive

  constructor(client, topic, { onChange, onUnsubscribed } = {}) {
    this.#client = client;
    this.topic = topic;
    this.onChange = onChange;
    this.onUnsubscribed = onUnsubscribed;
    this.value = null;
    this.revision = 0;
    this.epoch = '';
    // 'pending' | 'subscribed' (acked, catching up) | 'synced' | 'closed'
    this.state = 'pending';
    this.ready = new Promise((resolve, reject) => { this.#settle = { resolve, reject }; });
    this.ready.catch(() => {});
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
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.#client._forget(this);
    this.#settle?.reject(new NatsyncError('closed', 'document closed before its snapshot'));
    this.#settle = null;
  }

  get synced() {
    return this.state === 'synced';
  }

  #change(change, ifRevision) {
    if (this.state === 'closed') return Promise.reject(new NatsyncError('closed', 'document closed'));
    const msg = { type: 'patch', topic: this.topic, ...change };
    if (ifRevision !== undefined) msg.if_revision = ifRevision;
    return this.#client._enqueue(msg, { document: this, key: changeKey(change) });
  }

  _subscribeMessage() {
    const msg = { type: 'subscribe', topic: this.topic };
    if (this.epoch) msg.since = { revision: this.revision, epoch: this.epoch };
    return msg;
  }

  // Back to catching up: the connection was lost, or a gap was seen.
  _unsynced() {
    if (this.state !== 'closed') this.state = 'pending';
  }

  _acked(ack) {
    if (this.state === 'closed') return;
    this.state = 'subscribed';
    this.#target = ack.revision;
    if (ack.recovered === true) this.#checkSynced();  // the missed changes follow (maybe none)
  }

  _snapshot(msg) {
    if (this.state === 'closed') return;
    this.value = msg.data;
    this.revision = msg.revision;
    this.epoch = msg.epoch;
    this.#client._call(this.onChange, this.value, { revision: this.revision, local: false, snapshot: true });
    this.#checkSynced();
  }

  _patch(msg) {
    if (this.state === 'closed' || this.state === 'pending') return;
    if (msg.revision <= this.revision) return;  // already applied
    if (msg.revision !== this.revision + 1) {
      this.#client._resubscribe(this);  // a gap: repair it from the server
      return;
    }
    this.value = applyChange(this.value, msg);
    this.revision = msg.revision;
    const local = this.#own.delete(msg.revision) || this.#client._ownChange(this, changeKey(msg), msg.revision);
    this.#client._call(this.onChange, this.value, { revision: this.revision, local });
    this.#checkSynced();
  }

  // This client's change was acked at `revision` (its broadcast may come before or after).
  _ownRevision(revision) {
    if (revision > this.revision) this.#own.add(revision);
  }

  _refused(err) {
    this.state = 'closed';
    this.#client._forget(this);
    if (this.#settle) this.#settle.reject(err);
    else this.#client._emitError(err);
    this.#settle = null;
  }

  _ended() {
    this.state = 'closed';
    this.#client._forget(this);
    this.#client._call(this.onUnsubscribed, { topic: this.topic });
  }

  _closed(err) {
    this.#settle?.reject(err);
    this.#settle = null;
  }

  #checkSynced() {
    if (this.state !== 'subscribed' || this.#target === null || this.revision < this.#target) return;
    this.state = 'synced';
    this.#settle?.resolve(this);
    this.#settle = null;
    this.#client._documentSynced(this);
  }
}
