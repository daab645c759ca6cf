// natsync-client: the public API (see README.md). Written by hand; checked by
// test/typed/example.ts under `tsc --noEmit --strict`.

export type ClientState = 'connecting' | 'connected' | 'disconnected' | 'closed';

/** Codes from the server (docs/protocol.md) and from the client itself. */
export type ErrorCode =
  | 'invalid_json' | 'invalid_message' | 'unknown_type' | 'invalid_topic' | 'not_authenticated'
  | 'auth_failed' | 'token_expired' | 'unsupported_data' | 'slow_consumer' | 'permission_denied'
  | 'rate_limited' | 'too_many_subscriptions' | 'too_many_connections' | 'broker_unavailable'
  | 'revision_conflict' | 'patch_failed' | 'document_too_large' | 'forbidden' | 'internal_error'
  | 'timeout' | 'closed' | 'outbox_full' | 'disconnected' | 'already_subscribed'
  | 'protocol_error' | 'message_too_big' | 'invalid_url';

/** Presence of a PRESENCE_TOPICS topic: the counts exact, `members` capped by the server. */
export interface PresenceData {
  connections: number;
  users: number;
  members: Array<{ user_id: string; client_id: string }>;
  truncated?: boolean;
}

export interface PresenceEvent {
  topic: string;
  userId: string;
  clientId: string;
}

/** Many joins and leaves at once (a mass reconnect): their numbers and the counts after. */
export interface PresenceSummary {
  topic: string;
  joins: number;
  leaves: number;
  connections: number;
  users: number;
}

export interface SubscriptionEvents {
  join: PresenceEvent;
  leave: PresenceEvent;
  summary: PresenceSummary;
}

export declare class NatsyncError extends Error {
  readonly code: ErrorCode;
  /** revision_conflict: the document's current revision. */
  readonly revision?: number;
  /** patch_failed / invalid_message: the index of the failing operation. */
  readonly index?: number;
  /** Set when the client stopped on a close code. */
  readonly closeCode?: number;
}

/** What the client needs of a WebSocket constructor (the browser's, or npm `ws`). */
export interface WebSocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ClientOptions {
  /** A JWT, sent in-band (`auth`) on every connection. */
  token?: string;
  /** Returns a JWT: called on every connect, before the token's exp, and once more after an auth error. */
  getToken?: () => string | Promise<string>;
  /** Node: the WebSocket constructor (e.g. `import WebSocket from 'ws'`). Browsers use the global. */
  WebSocket?: WebSocketConstructor;
  /** Full-jitter exponential backoff bounds, ms (500 / 20000). */
  minReconnectDelay?: number;
  maxReconnectDelay?: number;
  /** Per request while connected, ms (5000); also the wait for a heartbeat's pong. */
  timeout?: number;
  /** Publishes and changes kept while offline (1000); beyond: outbox_full. */
  outboxLimit?: number;
  /** A ping after this long without a frame from the server, ms (20000). */
  heartbeatInterval?: number;
  /** From opening the socket to being connected, ms (10000). */
  connectTimeout?: number;
  /** A connection that lasted this long resets the backoff, ms (5000). */
  stableAfter?: number;
}

export interface StreamMeta {
  /** The message's topic: the concrete one when subscribed with a pattern. */
  topic: string;
  /** Durable topics only. */
  offset?: number;
  epoch?: string;
}

export interface SubscriptionHandlers<T = unknown> {
  onData?: (data: T, meta: StreamMeta) => void;
  /** A durable topic's gap could not be filled: reload your state. */
  onStateLost?: (info: { topic: string; offset: number; epoch: string }) => void;
  /** The server ended the subscription (a refreshed token no longer allows it). */
  onUnsubscribed?: (info: { topic: string }) => void;
}

export interface Subscription {
  /** A topic, or a pattern (`chat.*`, `chat.>`). */
  readonly topic: string;
  readonly pattern: boolean;
  /** Made by the server API for this connection (not restored after a reconnect). */
  readonly server: boolean;
  onData?: (data: unknown, meta: StreamMeta) => void;
  onUnsubscribed?: (info: { topic: string }) => void;
  /** Presence events (PRESENCE_TOPICS). Returns the function that removes the listener. */
  on<E extends keyof SubscriptionEvents>(event: E, listener: (value: SubscriptionEvents[E]) => void): () => void;
  readonly state: 'pending' | 'subscribed' | 'unsubscribed';
  /** Durable topics: the last message delivered. */
  readonly position: { offset: number; epoch: string } | null;
  /** Resolves on the first ack; rejects with the server's refusal. */
  readonly ready: Promise<Subscription>;
  unsubscribe(): void;
}

export interface PublishResult {
  /** Durable topics: where the message is in the stream. */
  offset?: number;
  epoch?: string;
  /** The idempotency key was seen before: stored once, not again. */
  duplicate?: boolean;
}

export interface ChangeMeta {
  revision: number;
  /** This client wrote the change. */
  local: boolean;
  /** The whole document arrived (first subscribe, or a gap that could not be replayed). */
  snapshot?: boolean;
}

export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

export interface DocumentHandlers<T = unknown> {
  onChange?: (value: T | null, meta: ChangeMeta) => void;
  onUnsubscribed?: (info: { topic: string }) => void;
}

export interface ChangeOptions {
  /** Apply only if the document is at this revision (else revision_conflict). */
  ifRevision?: number;
}

export interface SharedDocument<T = unknown> {
  readonly topic: string;
  readonly value: T | null;
  readonly revision: number;
  readonly epoch: string;
  readonly state: 'pending' | 'subscribed' | 'synced' | 'closed';
  readonly synced: boolean;
  /** Resolves once the snapshot (or catch-up) is in. */
  readonly ready: Promise<SharedDocument<T>>;
  /** RFC 7396 merge patch. */
  patch(data: unknown, options?: ChangeOptions): Promise<{ revision: number }>;
  /** RFC 6902 JSON Patch. */
  applyOps(ops: JsonPatchOperation[], options?: ChangeOptions): Promise<{ revision: number }>;
  /** The whole document. */
  replace(value: T, options?: ChangeOptions): Promise<{ revision: number }>;
  close(): void;
}

export interface ClientEvents {
  state: { from: ClientState; to: ClientState };
  connected: { clientId: string; userId: string };
  disconnected: { code: number; reason: string; reconnect: boolean };
  /** Messages to this user and broadcasts (no topic). */
  message: unknown;
  /** The server API subscribed this connection: set the subscription's onData. */
  serverSubscribe: { topic: string; subscription: Subscription };
  /** The server API unsubscribed this connection. */
  serverUnsubscribe: { topic: string };
  error: NatsyncError | Error;
}

export declare class Client {
  readonly state: ClientState;
  readonly clientId: string;
  readonly userId: string;
  /** Returns the function that removes the listener. */
  on<E extends keyof ClientEvents>(event: E, listener: (value: ClientEvents[E]) => void): () => void;
  subscribe<T = unknown>(topic: string, handlers?: SubscriptionHandlers<T>): Subscription;
  publish(topic: string, data: unknown, options?: { idempotencyKey?: string }): Promise<PublishResult>;
  document<T = unknown>(topic: string, handlers?: DocumentHandlers<T>): SharedDocument<T>;
  /** Who is subscribed to a PRESENCE_TOPICS topic, on every node. */
  presence(topic: string): Promise<PresenceData>;
  /** State 'closed', no reconnect; pending promises reject with `closed`. */
  close(): void;
}

/** `url`: one server, or several to try in turn. */
export declare function createClient(url: string | string[], options?: ClientOptions): Client;

/** The wait before reconnect attempt `attempt` (0-based): uniform in [min, min(max, min * 2^(attempt+1))]. */
export declare function reconnectDelay(attempt: number, min: number, max: number, random?: () => number): number;
