// A TCP proxy between the client under test and natsync, which the test can cut (every
// connection reset), stall (bytes are held, sockets stay open: a half-open link), refuse
// (new connections closed at once) and point at another server.
import net from 'node:net';

// The text of the client's (masked) WebSocket frames in `chunk`: enough for a test to
// see which message just went through (the upgrade request passes as it is).
function clientText(chunk) {
  if (chunk.toString('latin1', 0, 4) === 'GET ') return chunk.toString('latin1');
  let text = '';
  for (let at = 0; at + 6 <= chunk.length;) {
    let length = chunk[at + 1] & 0x7f;
    let header = 2;
    if (length === 126) { length = chunk.readUInt16BE(at + 2); header = 4; }
    if (length === 127) { length = Number(chunk.readBigUInt64BE(at + 2)); header = 10; }
    const mask = chunk.subarray(at + header, at + header + 4);
    const payload = chunk.subarray(at + header + 4, at + header + 4 + length);
    text += Buffer.from(payload.map((b, i) => b ^ mask[i % 4])).toString('utf8');
    at += header + 4 + length;
  }
  return text;
}

export async function startProxy(target) {
  const pairs = new Set();
  const proxy = { target, stalled: false, refusing: false, accepted: 0, onClientData: null };
  const server = net.createServer((client) => {
    proxy.accepted++;
    if (proxy.refusing) return client.destroy();
    const upstream = net.connect(proxy.target, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => { client.destroy(); upstream.destroy(); pairs.delete(pair); };
    client.on('data', (chunk) => {
      if (proxy.stalled) return;
      upstream.write(chunk);
      if (proxy.onClientData) proxy.onClientData(clientText(chunk), pair);
    });
    upstream.on('data', (chunk) => { if (!proxy.stalled) client.write(chunk); });
    for (const s of [client, upstream]) { s.on('error', end); s.on('close', end); }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = server.address().port;
  proxy.url = `ws://127.0.0.1:${proxy.port}/ws/sync`;
  proxy.cut = () => { for (const { client, upstream } of pairs) { client.resetAndDestroy(); upstream.destroy(); } pairs.clear(); };
  proxy.close = () => { proxy.cut(); server.close(); };
  return proxy;
}
