// natsync-client: `createClient(url, options)` is the whole entry point; see README.md.
export { createClient, Client } from './client.js';
export { NatsyncError } from './errors.js';
export { reconnectDelay } from './backoff.js';
