// Compiles against the package's declarations (`npm run typecheck`): the README's API
// as a typed application would write it.
import { createClient, NatsyncError, type PublishResult } from 'natsync-client';

interface Board { title: string; cards: { text: string }[] }

const client = createClient('wss://example.invalid/ws/sync', {
  getToken: async () => 'jwt',
  minReconnectDelay: 500,
  maxReconnectDelay: 20000,
  timeout: 5000,
  outboxLimit: 1000,
});
const off = client.on('state', ({ from, to }) => console.log(from, to));
off();
client.on('disconnected', ({ code, reconnect }) => console.log(code, reconnect));
client.on('error', (err) => console.log(err instanceof NatsyncError ? err.code : err.message));

const sub = client.subscribe<{ id: number }>('orders.eu', {
  onData: (data, { offset, epoch }) => console.log(data.id, offset, epoch),
  onStateLost: ({ topic }) => console.log('reload', topic),
});

export async function main(): Promise<void> {
  await sub.ready;
  const result: PublishResult = await client.publish('orders.eu', { id: 1 }, { idempotencyKey: 'k' });
  console.log(result.offset, result.duplicate);
  const doc = client.document<Board>('board.1', { onChange: (value, { revision, local }) => console.log(value?.title, revision, local) });
  await doc.ready;
  const { revision } = await doc.patch({ title: 'x' }, { ifRevision: doc.revision });
  await doc.applyOps([{ op: 'add', path: '/cards/-', value: { text: 'new' } }]);
  await doc.replace({ title: 'y', cards: [] }, { ifRevision: revision + 1 });
  doc.close();
  const room = client.subscribe('room.1');
  const offJoin = room.on('join', ({ userId, clientId }) => console.log(userId, clientId));
  room.on('summary', ({ joins, leaves, connections }) => console.log(joins, leaves, connections));
  offJoin();
  const { connections, users, members } = await client.presence('room.1');
  console.log(connections, users, members[0]?.client_id);
  client.subscribe('chat.*', { onData: (data, { topic }) => console.log(topic, data) });
  client.on('serverSubscribe', ({ subscription }) => { subscription.onData = (data) => console.log(data); });
  sub.unsubscribe();
  client.close();
}
