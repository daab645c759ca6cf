// Publishes and document changes in the order the application made them, kept while the
// client is offline (bounded) and sent once it is connected again. An entry stays here
// until the server answered it: one whose answer was lost with its connection is sent
// again on the next one (a publish with the same idempotency key, so the server applies
// it once; a document change only if the document's catch-up does not already show it).
import { NatsyncError } from './errors.js';

export class Outbox {
  #entries = [];
  #limit;

  constructor(limit) {
    this.#limit = limit;
  }

  get size() {
    return this.#entries.length;
  }

  // A promise for `msg`'s answer; rejected at once when the outbox is full.
  add(msg, extra = {}) {
    if (this.#entries.length >= this.#limit) {
      return Promise.reject(new NatsyncError('outbox_full', `outboxLimit (${this.#limit}) changes are waiting already`));
    }
    return new Promise((resolve, reject) => {
      this.#entries.push({ msg, resolve, reject, sent: false, timer: null, ...extra });
    });
  }

  // Entries not sent on this connection, in order, up to the first that must wait
  // (`ready(entry)` false: its document is still catching up).
  *sendable(ready) {
    for (const entry of this.#entries) {
      if (entry.sent) continue;
      if (!ready(entry)) return;
      yield entry;
    }
  }

  settle(entry, error, value) {
    const at = this.#entries.indexOf(entry);
    if (at < 0) return;
    this.#entries.splice(at, 1);
    clearTimeout(entry.timer);
    if (error) entry.reject(error);
    else entry.resolve(value);
  }

  // The first entry of `document` with this change's key whose answer is still
  // outstanding: the change the server just broadcast may be it.
  findChange(document, key) {
    return this.#entries.find((e) => e.document === document && e.key === key);
  }

  // The connection is gone: what was sent and not answered goes again on the next.
  unsend() {
    for (const entry of this.#entries) {
      clearTimeout(entry.timer);
      if (entry.sent) entry.lost = true;
      entry.sent = false;
    }
  }

  // The entries of a document that is gone.
  dropFor(document, error) {
    for (const entry of this.#entries.filter((e) => e.document === document)) this.settle(entry, error);
  }

  rejectAll(error) {
    for (const entry of [...this.#entries]) this.settle(entry, error);
  }
}
