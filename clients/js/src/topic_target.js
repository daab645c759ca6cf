// What a Subscription and a SharedDocument share: a topic the client restores on every
// connection, a `ready` promise settled by the first complete answer, and the ways it
// ends (the application's own close, a refusal, the server ending it, the client closing).
import { NatsyncError } from './errors.js';

export class TopicTarget {
  #settle;

  // `endState`: the state once it has ended ('unsubscribed' or 'closed').
  constructor(client, topic, endState, onUnsubscribed) {
    this._client = client;
    this.topic = topic;
    this.endState = endState;
    this.onUnsubscribed = onUnsubscribed;
    this.state = 'pending';
    this.ready = new Promise((resolve, reject) => { this.#settle = { resolve, reject }; });
    this.ready.catch(() => {});  // the application may never await it
  }

  get ended() {
    return this.state === this.endState;
  }

  // The application ends it.
  end(why) {
    if (this.ended) return;
    this.state = this.endState;
    this._client._forget(this);
    this._closed(new NatsyncError('closed', why));
  }

  // The connection was lost (or the copy has a gap): the next subscribe restores it.
  _unsynced() {
    if (!this.ended) this.state = 'pending';
  }

  _resolveReady() {
    this.#settle?.resolve(this);
    this.#settle = null;
  }

  // The server refused the subscribe: the first refusal rejects `ready`, a later one
  // (on a reconnect) is the client's `error`.
  _refused(err) {
    this.state = this.endState;
    this._client._forget(this);
    if (this.#settle) this._closed(err);
    else this._client._emitError(err);
  }

  // The server ended it (a refreshed token no longer allows the topic).
  _ended() {
    this.state = this.endState;
    this._client._forget(this);
    this._client._call(this.onUnsubscribed, { topic: this.topic });
  }

  _closed(err) {
    this.#settle?.reject(err);
    this.#settle = null;
  }
}
