// A raw RFC 6455 client for the conformance suite: it frames every byte itself (so it
// can send what no well-behaved library would: reserved bits and opcodes, bad lengths,
// fragmented control frames, broken UTF-8) and records everything the server does.
// It shares no code with natsync.
'use strict';
const net = require('node:net');
const crypto = require('node:crypto');

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

class RawClient {
  // Opens a TCP connection and performs the opening handshake on `path`.
  static connect(port, path, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
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
        resolve(new RawClient(socket, head.subarray(end + 4)));
      };
      socket.on('data', onData);
      socket.on('error', (err) => { clearTimeout(timer); reject(err); });
      socket.on('connect', () => socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
    });
  }

  constructor(socket, rest) {
    this.socket = socket;
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
    if (first & 0x70) this.protocolErrors.push('server frame has reserved bits set');
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
      if (fin) this.events.push({ kind, data: payload });
      else this.fragments = { kind, parts: [payload] };
    } else if (opcode === OP.continuation && this.fragments) {
      this.fragments.parts.push(payload);
      if (fin) {
        this.events.push({ kind: this.fragments.kind, data: Buffer.concat(this.fragments.parts) });
        this.fragments = null;
      }
    } else {
      this.protocolErrors.push(`server sent opcode ${opcode}`);
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

  // A message in fragments of `fragmentSize` bytes (0: one frame).
  sendMessage(kind, data, { fragmentSize = 0, ...options } = {}) {
    data = Buffer.from(data);
    const opcode = kind === 'text' ? OP.text : OP.binary;
    if (!fragmentSize || data.length <= fragmentSize) return this.sendFrame({ opcode, payload: data }, options);
    const frames = [];
    for (let i = 0; i < data.length; i += fragmentSize) {
      frames.push(encodeFrame({
        opcode: i === 0 ? opcode : OP.continuation,
        payload: data.subarray(i, i + fragmentSize),
        fin: i + fragmentSize >= data.length,
      }));
    }
    return this.write(Buffer.concat(frames), options);
  }

  sendClose(code, reason, options) { return this.sendFrame({ opcode: OP.close, payload: closePayload(code, reason) }, options); }

  destroy() { this.socket.destroy(); }
}

module.exports = { RawClient, OP, encodeFrame, closePayload, pause };
