// Every failure the client reports is a NatsyncError with a machine-readable `code`: the
// server's error codes (docs/protocol.md), plus 'timeout', 'closed', 'outbox_full',
// 'disconnected' and 'already_subscribed' from the client itself.
export class NatsyncError extends Error {
  constructor(code, message, details = {}) {
    super(message || code);
    this.name = 'NatsyncError';
    this.code = code;
    Object.assign(this, details);
  }
}

// The server's {"type":"error",...} as a NatsyncError (revision and index kept).
export function fromServerError(msg) {
  const details = {};
  if (msg.revision !== undefined) details.revision = msg.revision;
  if (msg.index !== undefined) details.index = msg.index;
  return new NatsyncError(msg.code || 'internal_error', msg.error, details);
}
