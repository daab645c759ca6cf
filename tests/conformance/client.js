// A raw RFC 6455 client for the conformance suite: it frames every byte itself (so it
// can send what no well-behaved library would: reserved bits and opcodes, bad lengths,
// fragmented control frames, broken UTF-8) and records everything the server does.
// It shares no code with natsync.
'use strict';
const net = require('node:net');
const tls = require('node:tls');
const crypto = require('node:crypto');
const zlib = require('node:zlib');

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

// One frame's bytes, masked as a client must (RFC 6455 §5.3).
function encodeFrame({ opcode, payload = Buffer.alloc(0), fin = true, rsv = 0, mask = true }) {
  payload = Buffer.from(payload);
  const length = payload.length;
  let header;
  if (length < 126) {
    header = Buffer.alloc(2);
    header[1] = length;
  } else if (length < 65536) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  header[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  if (!mask) return Buffer.concat([header, payload]);
  header[1] |= 0x80;
  const key = crypto.randomBytes(4);
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([header, key, masked]);
}

function closePayload(code, reason = '') {
  if (code === undefined) return Buffer.alloc(0);
  const out = Buffer.alloc(2);
  out.writeUInt16BE(code, 0);
  return Buffer.concat([out, Buffer.isBuffer(reason) ? reason : Buffer.from(reason)]);
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// RFC 7692 §7.2.1: DEFLATE with a sync flush, the trailing 00 00 ff ff removed.
function deflateMessage(data) {
  const out = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

// The permessage-deflate parameters of a 101 response, or null when not negotiated.
function parseDeflate(response) {
  const line = /^sec-websocket-extensions:\s*(.*)$/im.exec(response);
  if (!line || !/permessage-deflate/.test(line[1])) return null;
  const params = line[1].split(';').map((p) => p.trim());
  const value = (name) => { const p = params.find((x) => x.startsWith(name)); return p === undefined ? undefined : (p.split('=')[1] ?? true); };
  return {
    header: line[1].trim(),
    serverNoContextTakeover: value('server_no_context_takeover') !== undefined,
    clientNoContextTakeover: value('client_no_context_takeover') !== undefined,
    serverMaxWindowBits: value('server_max_window_bits'),
    clientMaxWindowBits: value('client_max_window_bits'),
  };
}

class RawClient {
  // Opens a TCP connection and performs the opening handshake on `path`, offering the
  // `extensions` header value if given (permessage-deflate offers). With `ca` (a PEM
  // certificate), over TLS trusting that certificate.
  static connect(port, path, { timeoutMs = 5000, extensions, ca } = {}) {
    return new Promise((resolve, reject) => {
      const socket = ca ? tls.connect({ port, host: '127.0.0.1', ca }) : net.connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      const key = crypto.randomBytes(16).toString('base64');
      let head = Buffer.alloc(0);
      const timer = setTimeout(() => { socket.destroy(); reject(new Error('handshake timed out')); }, timeoutMs);
      const onData = (chunk) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        clearTimeout(timer);
        const response = head.subarray(0, end).toString('latin1');
        const accept = crypto.createHash('sha1').update(key + GUID).digest('base64');
        if (!/^HTTP\/1\.1 101 /.test(response) ||
            !new RegExp(`^sec-websocket-accept:\\s*${accept.replace(/[+/=]/g, '\\$&')}\\s*$`, 'im').test(response)) {
          socket.destroy();
          reject(new Error(`handshake refused: ${response.split('\r\n')[0]}`));
          return;
        }
        const client = new RawClient(socket, head.subarray(end + 4), parseDeflate(response));
        client.response = response;
        resolve(client);
      };
      socket.on('data', onData);
      socket.on('error', (err) => { clearTimeout(timer); reject(err); });
      socket.on(ca ? 'secureConnect' : 'connect', () => socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') + '\r\n'));
    });
  }

  constructor(socket, rest, deflate) {
    this.socket = socket;
    this.deflate = deflate;   // the negotiated permessage-deflate parameters, or null
    this.window = Buffer.alloc(0);  // the server's compression context: its last output
    this.buffer = Buffer.alloc(0);
    this.events = [];         // {kind: 'text'|'binary'|'ping'|'pong', data: Buffer}
    this.close = null;        // {code, reason} of the server's close frame; code null when empty
    this.framesAfterClose = 0;
    this.protocolErrors = []; // what the server sent that a server must not send
    this.ended = false;       // the server closed (or reset) the TCP connection
    this.fragments = null;    // {kind, parts} of a fragmented message being received
    this.waiters = [];
    this.endedPromise = new Promise((resolve) => {
      const end = () => { this.ended = true; this.notify(); resolve(); };
      socket.on('end', end);
      socket.on('close', end);
      socket.on('error', () => {});
    });
    socket.on('data', (chunk) => this.receive(chunk));
    if (rest.length) this.receive(rest);
  }

  receive(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) break;
      let length = b[1] & 0x7f;
      let offset = 2;
      if (length === 126) { if (b.length < 4) break; length = b.readUInt16BE(2); offset = 4; }
      else if (length === 127) { if (b.length < 10) break; length = Number(b.readBigUInt64BE(2)); offset = 10; }
      if (b[1] & 0x80) this.protocolErrors.push('server frame is masked');
      if (b.length < offset + length) break;
      this.onFrame(b[0], b.subarray(offset, offset + length));
      this.buffer = b.subarray(offset + length);
    }
    this.notify();
  }

  onFrame(first, payload) {
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    const compressed = (first & 0x40) !== 0;
    if (first & 0x30) this.protocolErrors.push('server frame has RSV2/RSV3 set');
    if (compressed && (!this.deflate || !(opcode === OP.text || opcode === OP.binary))) {
      this.protocolErrors.push('server frame has RSV1 set where no compressed message may start');
    }
    if (this.close) { this.framesAfterClose++; return; }
    payload = Buffer.from(payload);
    if (opcode === OP.close) {
      this.close = payload.length >= 2
        ? { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() }
        : { code: null, reason: '' };
    } else if (opcode === OP.ping || opcode === OP.pong) {
      this.events.push({ kind: opcode === OP.ping ? 'ping' : 'pong', data: payload });
    } else if (opcode === OP.text || opcode === OP.binary) {
      if (this.fragments) this.protocolErrors.push('new message inside a fragmented one');
      const kind = opcode === OP.text ? 'text' : 'binary';
      if (fin) this.events.push({ kind, data: this.inflate(payload, compressed) });
      else this.fragments = { kind, compressed, parts: [payload] };
    } else if (opcode === OP.continuation && this.fragments) {
      this.fragments.parts.push(payload);
      if (fin) {
        this.events.push({ kind: this.fragments.kind, data: this.inflate(Buffer.concat(this.fragments.parts), this.fragments.compressed) });
        this.fragments = null;
      }
    } else {
      this.protocolErrors.push(`server sent opcode ${opcode}`);
    }
  }

  // A compressed message's payload inflated (RFC 7692 §7.2.2): the server's earlier
  // output is the dictionary unless it negotiated server_no_context_takeover.
  inflate(payload, compressed) {
    if (!compressed) return payload;
    try {
      const options = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
      if (!this.deflate.serverNoContextTakeover && this.window.length) options.dictionary = this.window;
      const out = zlib.inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), options);
      this.window = Buffer.concat([this.window, out]).subarray(-32768);
      return out;
    } catch (err) {
      this.protocolErrors.push(`compressed message does not inflate: ${err.message}`);
      return Buffer.alloc(0);
    }
  }

  notify() { for (const w of this.waiters.splice(0)) w(); }

  // Resolves once `predicate()` holds, or with false after `timeoutMs`.
  async until(predicate, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return true;
  }

  // Writes bytes at once, or in pieces of `chop` bytes with a pause between them, so
  // the server sees frames split at every position.
  async write(bytes, { chop = 0, delayMs = 0 } = {}) {
    if (this.socket.destroyed) return;
    if (!chop) { this.socket.write(bytes); return; }
    for (let i = 0; i < bytes.length && !this.socket.destroyed; i += chop) {
      this.socket.write(bytes.subarray(i, i + chop));
      if (delayMs) await pause(delayMs);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  sendFrame(frame, options) { return this.write(encodeFrame(frame), options); }

  // A message in fragments of `fragmentSize` bytes (0: one frame); with `compress`, its
  // payload deflated first (each message on its own: no client context takeover).
  sendMessage(kind, data, { fragmentSize = 0, compress = false, ...options } = {}) {
    data = Buffer.from(data);
    if (compress) data = deflateMessage(data);
    const rsv = compress ? 4 : 0;
    const opcode = kind === 'text' ? OP.text : OP.binary;
    if (!fragmentSize || data.length <= fragmentSize) return this.sendFrame({ opcode, payload: data, rsv }, options);
    const frames = [];
    for (let i = 0; i < data.length; i += fragmentSize) {
      frames.push(encodeFrame({
        opcode: i === 0 ? opcode : OP.continuation,
        payload: data.subarray(i, i + fragmentSize),
        fin: i + fragmentSize >= data.length,
        rsv: i === 0 ? rsv : 0,
      }));
    }
    return this.write(Buffer.concat(frames), options);
  }

  sendClose(code, reason, options) { return this.sendFrame({ opcode: OP.close, payload: closePayload(code, reason) }, options); }

  destroy() { this.socket.destroy(); }
}

module.exports = { RawClient, OP, encodeFrame, closePayload, pause, deflateMessage };
