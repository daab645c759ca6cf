// The conformance cases: RFC 6455 (and the natsync limits that sit on it), numbered
// after the public descriptions of the Autobahn|Testsuite cases they mirror so a real
// Autobahn run can be compared case by case. Sections 1-7, 9, 10 and 12-13
// (permessage-deflate, WS_COMPRESSION). Section L holds natsync's own limits.
//
// A case sends bytes and says what must follow:
//   expect 'echo':  `events` arrive, then our close 1000 is answered with 1000 and the
//                   server drops TCP;
//   expect 'fail':  the server fails the connection: a close frame with a code in
//                   `codes` (or, where `codes` has 1002, no close frame) and TCP dropped;
//                   `events` are what must arrive before that;
//   expect 'close': the case sent a close; the server answers with a code in `codes`.
// `lenient(events)` names what Autobahn rates NON-STRICT (allowed, not ideal).
'use strict';
const crypto = require('node:crypto');
const { OP, encodeFrame, pause } = require('./client');

const text = (data) => ({ kind: 'text', data: Buffer.from(data) });
const binary = (data) => ({ kind: 'binary', data: Buffer.from(data) });
const pong = (data) => ({ kind: 'pong', data: Buffer.from(data) });
const frame = (opcode, payload = '', extra = {}) => ({ opcode, payload: Buffer.from(payload), ...extra });

// Sends frames in one write ('one'), one write per frame ('frames'), or byte by byte.
async function send(c, frames, mode = 'one') {
  const bytes = frames.map(encodeFrame);
  if (mode === 'one') return c.write(Buffer.concat(bytes));
  if (mode === 'octets') return c.write(Buffer.concat(bytes), { chop: 1 });
  for (const b of bytes) { await c.write(b); await pause(5); }
}

const cases = [];
const add = (kase) => cases.push(kase);
const MODES = ['one', 'frames', 'octets'];
const KOSME = Buffer.from('κόσμε');

// 1 Framing: text and binary messages of the lengths where the header changes.
const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536];
for (const [section, kind, fill] of [['1.1', 'text', 0x2a], ['1.2', 'binary', 0xfe]]) {
  LENGTHS.forEach((n, i) => add({
    id: `${section}.${i + 1}`, description: `${kind} message, payload ${n} bytes`,
    run: (c) => c.sendMessage(kind, Buffer.alloc(n, fill)), expect: 'echo', events: [{ kind, data: Buffer.alloc(n, fill) }],
  }));
  add({
    id: `${section}.8`, description: `${kind} message of 65536 bytes written in chops of 997`,
    run: (c) => c.sendMessage(kind, Buffer.alloc(65536, fill), { chop: 997 }), expect: 'echo',
    events: [{ kind, data: Buffer.alloc(65536, fill) }],
  });
}

// 2 Pings and pongs.
const BINARY_PING = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
add({ id: '2.1', description: 'ping without payload', run: (c) => send(c, [frame(OP.ping)]), expect: 'echo', events: [pong('')] });
add({ id: '2.2', description: 'ping with text payload', run: (c) => send(c, [frame(OP.ping, 'Hello, world!')]), expect: 'echo', events: [pong('Hello, world!')] });
add({ id: '2.3', description: 'ping with binary payload', run: (c) => send(c, [frame(OP.ping, BINARY_PING)]), expect: 'echo', events: [pong(BINARY_PING)] });
add({ id: '2.4', description: 'ping with 125-byte payload', run: (c) => send(c, [frame(OP.ping, Buffer.alloc(125, 0xfe))]), expect: 'echo', events: [pong(Buffer.alloc(125, 0xfe))] });
add({ id: '2.5', description: 'ping with 126-byte payload (too long for a control frame)', run: (c) => send(c, [frame(OP.ping, Buffer.alloc(126, 0xfe))]), expect: 'fail', codes: [1002], events: [] });
add({ id: '2.6', description: 'ping with 125-byte payload, byte by byte', run: (c) => send(c, [frame(OP.ping, Buffer.alloc(125, 0xfe))], 'octets'), expect: 'echo', events: [pong(Buffer.alloc(125, 0xfe))] });
add({ id: '2.7', description: 'unsolicited pong without payload', run: (c) => send(c, [frame(OP.pong)]), expect: 'echo', events: [] });
add({ id: '2.8', description: 'unsolicited pong with payload', run: (c) => send(c, [frame(OP.pong, 'unsolicited pong payload')]), expect: 'echo', events: [] });
add({ id: '2.9', description: 'unsolicited pong, then ping', run: (c) => send(c, [frame(OP.pong, 'unsolicited pong payload'), frame(OP.ping, 'ping payload')]), expect: 'echo', events: [pong('ping payload')] });
for (const [id, mode] of [['2.10', 'one'], ['2.11', 'octets']]) {
  const payloads = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
  add({
    id, description: `10 pings in a row (${mode === 'one' ? 'one write' : 'byte by byte'})`,
    run: (c) => send(c, payloads.map((p) => frame(OP.ping, p)), mode), expect: 'echo', events: payloads.map(pong),
    // Answering only the last of several unanswered pings is allowed (RFC 6455 §5.5.3).
    lenient: (events) => events.length > 0 && events.at(-1).data.toString() === payloads.at(-1),
  });
}

// 3 Reserved bits: any set bit without an extension that defines it fails the connection.
const hello = frame(OP.text, 'Hello, world!');
const helloEcho = [text('Hello, world!')];
const helloMaybe = (events) => events.length === 0;  // the echo may lose the race with the failure
add({ id: '3.1', description: 'text with RSV = 1', run: (c) => send(c, [frame(OP.text, 'Hello, world!', { rsv: 1 })]), expect: 'fail', codes: [1002], events: [] });
[[2, 'one'], [3, 'frames'], [4, 'octets']].forEach(([rsv, mode], i) => add({
  id: `3.${i + 2}`, description: `text, text with RSV = ${rsv}, ping (${mode})`,
  run: (c) => send(c, [hello, frame(OP.text, 'Hello, world!', { rsv }), frame(OP.ping)], mode),
  expect: 'fail', codes: [1002], events: helloEcho, lenient: helloMaybe,
}));
add({ id: '3.5', description: 'binary with RSV = 5', run: (c) => send(c, [frame(OP.binary, Buffer.from([...Array(256).keys()]), { rsv: 5 })]), expect: 'fail', codes: [1002], events: [] });
add({ id: '3.6', description: 'ping with RSV = 6', run: (c) => send(c, [frame(OP.ping, 'Hello, world!', { rsv: 6 })]), expect: 'fail', codes: [1002], events: [] });
add({ id: '3.7', description: 'close with RSV = 7', run: (c) => send(c, [frame(OP.close, '', { rsv: 7 })]), expect: 'fail', codes: [1002], events: [] });

// 4 Reserved opcodes: 3-7 (data), 11-15 (control).
for (const [section, opcodes] of [['4.1', [3, 4, 5, 6, 7]], ['4.2', [11, 12, 13, 14, 15]]]) {
  opcodes.forEach((opcode, i) => {
    const alone = i < 2;
    const reserved = frame(opcode, i % 2 ? 'reserved opcode payload' : '');
    add({
      id: `${section}.${i + 1}`, description: alone ? `reserved opcode ${opcode}` : `text, reserved opcode ${opcode}, ping`,
      run: (c) => send(c, alone ? [reserved] : [hello, reserved, frame(OP.ping)]),
      expect: 'fail', codes: [1002], events: alone ? [] : helloEcho, lenient: alone ? undefined : helloMaybe,
    });
  });
}

// 5 Fragmentation.
const F = { fin: false };
add({ id: '5.1', description: 'ping in 2 fragments', run: (c) => send(c, [frame(OP.ping, 'fragment1', F), frame(OP.continuation, 'fragment2')]), expect: 'fail', codes: [1002], events: [] });
add({ id: '5.2', description: 'pong in 2 fragments', run: (c) => send(c, [frame(OP.pong, 'fragment1', F), frame(OP.continuation, 'fragment2')]), expect: 'fail', codes: [1002], events: [] });
MODES.forEach((mode, i) => add({
  id: `5.${3 + i}`, description: `text in 2 fragments (${mode})`,
  run: (c) => send(c, [frame(OP.text, 'fragment1', F), frame(OP.continuation, 'fragment2')], mode),
  expect: 'echo', events: [text('fragment1fragment2')],
}));
MODES.forEach((mode, i) => add({
  id: `5.${6 + i}`, description: `text in 2 fragments with a ping between (${mode})`,
  run: (c) => send(c, [frame(OP.text, 'fragment1', F), frame(OP.ping, 'ping payload'), frame(OP.continuation, 'fragment2')], mode),
  expect: 'echo', events: [pong('ping payload'), text('fragment1fragment2')],
}));
MODES.forEach((mode, i) => add({
  id: `5.${9 + i}`, description: `final continuation with nothing to continue, then text (${mode})`,
  run: (c) => send(c, [frame(OP.continuation, 'non-continuation payload'), hello], mode),
  expect: 'fail', codes: [1002], events: [],
}));
MODES.forEach((mode, i) => add({
  id: `5.${12 + i}`, description: `non-final continuation with nothing to continue, then text (${mode})`,
  run: (c) => send(c, [frame(OP.continuation, 'non-continuation payload', F), hello], mode),
  expect: 'fail', codes: [1002], events: [],
}));
add({
  id: '5.15', description: 'text in 2 fragments, then a continuation with nothing to continue, then text',
  run: (c) => send(c, [frame(OP.text, 'fragment1', F), frame(OP.continuation, 'fragment2'),
    frame(OP.continuation, 'fragment3', F), frame(OP.text, 'fragment4')]),
  expect: 'fail', codes: [1002], events: [text('fragment1fragment2')], lenient: helloMaybe,
});
for (const [id, fin] of [['5.16', false], ['5.17', true]]) {
  const round = [frame(OP.continuation, 'fragment1', { fin }), frame(OP.text, 'fragment2', F), frame(OP.continuation, 'fragment3')];
  add({ id, description: `continuation (fin=${fin}) with nothing to continue, then a fragmented text, twice`, run: (c) => send(c, [...round, ...round]), expect: 'fail', codes: [1002], events: [] });
}
add({ id: '5.18', description: 'a new text frame inside a fragmented text', run: (c) => send(c, [frame(OP.text, 'fragment1', F), frame(OP.text, 'fragment2')]), expect: 'fail', codes: [1002], events: [] });
for (const [id, mode] of [['5.19', 'one'], ['5.20', 'frames']]) {
  add({
    id, description: `text in 5 fragments with 2 pings between, paused in the middle (${mode})`,
    run: async (c) => {
      await send(c, [frame(OP.text, 'fragment1', F), frame(OP.continuation, 'fragment2', F), frame(OP.ping, 'pongme 1!'),
        frame(OP.continuation, 'fragment3', F)], mode);
      await pause(300);
      await send(c, [frame(OP.continuation, 'fragment4', F), frame(OP.ping, 'pongme 2!'), frame(OP.continuation, 'fragment5')], mode);
    },
    expect: 'echo', events: [pong('pongme 1!'), pong('pongme 2!'), text('fragment1fragment2fragment3fragment4fragment5')],
  });
}

// 6 UTF-8.
add({ id: '6.1.1', description: 'empty text', run: (c) => send(c, [frame(OP.text)]), expect: 'echo', events: [text('')] });
add({ id: '6.1.2', description: 'empty text in 3 empty fragments', run: (c) => send(c, [frame(OP.text, '', F), frame(OP.continuation, '', F), frame(OP.continuation)]), expect: 'echo', events: [text('')] });
add({ id: '6.1.3', description: 'text in 3 fragments, first and last empty', run: (c) => send(c, [frame(OP.text, '', F), frame(OP.continuation, 'middle frame payload', F), frame(OP.continuation)]), expect: 'echo', events: [text('middle frame payload')] });
const VALID_TEXT = Buffer.from('Hello-µ@ßöäüàá-UTF-8!!');
const perByte = (bytes) => [...bytes].map((b, i) => frame(i === 0 ? OP.text : OP.continuation, Buffer.from([b]), { fin: i === bytes.length - 1 }));
add({ id: '6.2.1', description: 'valid UTF-8 in one frame', run: (c) => send(c, [frame(OP.text, VALID_TEXT)]), expect: 'echo', events: [text(VALID_TEXT)] });
add({ id: '6.2.2', description: 'valid UTF-8 in 2 fragments split at a code point', run: (c) => send(c, [frame(OP.text, VALID_TEXT.subarray(0, 12), F), frame(OP.continuation, VALID_TEXT.subarray(12))]), expect: 'echo', events: [text(VALID_TEXT)] });
add({ id: '6.2.3', description: 'valid UTF-8, one byte per fragment', run: (c) => send(c, perByte(VALID_TEXT)), expect: 'echo', events: [text(VALID_TEXT)] });
add({ id: '6.2.4', description: 'valid UTF-8 (κόσμε), one byte per fragment', run: (c) => send(c, perByte(KOSME)), expect: 'echo', events: [text(KOSME)] });
const INVALID_TEXT = Buffer.concat([KOSME, Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('edited')]);
add({ id: '6.3.1', description: 'invalid UTF-8 (a surrogate) in one frame', run: (c) => send(c, [frame(OP.text, INVALID_TEXT)]), expect: 'fail', codes: [1007], events: [] });
add({ id: '6.3.2', description: 'invalid UTF-8 (a surrogate), one byte per fragment', run: (c) => send(c, perByte(INVALID_TEXT)), expect: 'fail', codes: [1007], events: [] });

// 6.4 Fail fast: the connection must fail when the invalid bytes arrive, not when the
// message ends. Three parts with pauses between; failing only after part 3 is NON-STRICT.
const FAIL_FAST = [
  [KOSME, Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from('edited')],
  [Buffer.concat([KOSME, Buffer.from([0xf4])]), Buffer.from([0x90]), Buffer.from([0x80, 0x80, ...Buffer.from('edited')])],
];
FAIL_FAST.forEach((parts, i) => {
  for (const [offset, inFrames] of [[1, true], [3, false]]) {
    add({
      id: `6.4.${i + offset}`, description: `invalid UTF-8 in the middle of a message sent as 3 ${inFrames ? 'fragments' : 'chops of one frame'}`,
      run: async (c) => {
        if (inFrames) {
          await send(c, [frame(OP.text, parts[0], F)]); await pause(200);
          await send(c, [frame(OP.continuation, parts[1], F)]); await pause(500);
          if (c.close || c.ended) return {};
          await send(c, [frame(OP.continuation, parts[2])]);
        } else {
          const whole = encodeFrame(frame(OP.text, Buffer.concat(parts)));
          const cut1 = whole.length - parts[1].length - parts[2].length;
          const cut2 = whole.length - parts[2].length;
          await c.write(whole.subarray(0, cut1)); await pause(200);
          await c.write(whole.subarray(cut1, cut2)); await pause(500);
          if (c.close || c.ended) return {};
          await c.write(whole.subarray(cut2));
        }
        return { nonStrict: 'failed only once the message was complete' };
      },
      expect: 'fail', codes: [1007], events: [],
    });
  }
});

// 6.5-6.21: Markus Kuhn's UTF-8 decoder test sequences, each in one frame and again one
// byte per fragment (a sequence split across fragments). Valid or not is decided by
// Node's WHATWG decoder, not by this file.
const decoder = new TextDecoder('utf-8', { fatal: true });
const isValidUtf8 = (bytes) => { try { decoder.decode(bytes); return true; } catch { return false; } };
const hex = (s) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const kosmePrefixes = range(1, KOSME.length).map((n) => KOSME.subarray(0, n));
const missingLast = ['c0', 'e080', 'f08080', 'f8808080', 'fc80808080', 'df', 'efbf', 'f7bfbf', 'fbbfbfbf', 'fdbfbfbfbf'].map(hex);
const KUHN = [
  ['some valid UTF-8', [Buffer.from('hello$world'), Buffer.from('hello¢world'), Buffer.from('hello€world'), Buffer.from('hello𤭢world'), KOSME]],
  ['every prefix of κόσμε', kosmePrefixes],
  ['first sequence of each length', ['00', 'c280', 'e0a080', 'f0908080', 'f888808080', 'fc8480808080'].map(hex)],
  ['last sequence of each length', ['7f', 'dfbf', 'efbfbf', 'f48fbfbf', 'f7bfbfbf', 'fbbfbfbfbf', 'fdbfbfbfbfbf'].map(hex)],
  ['other boundaries', ['ed9fbf', 'ee8080', 'efbfbd', 'f48fbfbf', 'f4908080'].map(hex)],
  ['unexpected continuation bytes', [...['80', 'bf', '80bf', '80bf80', '80bf80bf', '80bf80bf80', '80bf80bf80bf'].map(hex), Buffer.from(range(0x80, 0xbf))]],
  ['lonely start bytes', [[0xc0, 0xdf], [0xe0, 0xef], [0xf0, 0xf7], [0xf8, 0xfb], [0xfc, 0xfd]].map(([a, b]) => Buffer.from(range(a, b).flatMap((x) => [x, 0x20])))],
  ['last continuation byte missing', missingLast],
  ['incomplete sequences concatenated', [Buffer.concat(missingLast)]],
  ['impossible bytes', ['fe', 'ff', 'fefeffff'].map(hex)],
  ['overlong ASCII', ['c0af', 'e080af', 'f08080af', 'f8808080af', 'fc80808080af'].map(hex)],
  ['maximum overlong sequences', ['c1bf', 'e09fbf', 'f08fbfbf', 'f887bfbfbf', 'fc83bfbfbfbf'].map(hex)],
  ['overlong NUL', ['c080', 'e08080', 'f0808080', 'f880808080', 'fc8080808080'].map(hex)],
  ['single UTF-16 surrogates', ['eda080', 'edadbf', 'edae80', 'edafbf', 'edb080', 'edbe80', 'edbfbf'].map(hex)],
  ['paired UTF-16 surrogates', ['eda080edb080', 'eda080edbfbf', 'edadbfedb080', 'edadbfedbfbf', 'edae80edb080', 'edae80edbfbf', 'edafbfedb080', 'edafbfedbfbf'].map(hex)],
  ['noncharacters (valid UTF-8)', [hex('efbfbe'), hex('efbfbf'), ...[0xf0, 0xf1, 0xf2, 0xf3, 0xf4].flatMap((b1) => [0x8f, 0x9f, 0xaf, 0xbf]
    .filter((b2) => !(b1 === 0xf4 && b2 !== 0x8f) && !(b1 === 0xf0 && b2 === 0x8f)).flatMap((b2) => [0xbe, 0xbf].map((b4) => Buffer.from([b1, b2, 0xbf, b4]))))]],
  ['specials', ['efbfb9', 'efbfba', 'efbfbb', 'efbfbc', 'efbfbd', 'efbfbe', 'efbfbf'].map(hex)],
];
KUHN.forEach(([name, sequences], g) => sequences.forEach((bytes, n) => {
  const valid = isValidUtf8(bytes);
  for (const split of [false, true]) {
    add({
      id: `6.${g + 5}.${n + 1}${split ? 'f' : ''}`,
      description: `${name}: ${bytes.toString('hex').slice(0, 40)} (${valid ? 'valid' : 'invalid'})${split ? ', one byte per fragment' : ''}`,
      run: (c) => send(c, split && bytes.length > 1 ? perByte(bytes) : [frame(OP.text, bytes)]),
      ...(valid ? { expect: 'echo', events: [text(bytes)] } : { expect: 'fail', codes: [1007], events: [] }),
    });
  }
}));

// 7 Close handling.
add({ id: '7.1.1', description: 'text, then close', run: (c) => send(c, [frame(OP.text, 'Hello World!'), frame(OP.close, closeBytes(1000))]), expect: 'close', codes: [1000], events: [text('Hello World!')] });
add({ id: '7.1.2', description: 'close twice', run: (c) => send(c, [frame(OP.close, closeBytes(1000)), frame(OP.close, closeBytes(1000))]), expect: 'close', codes: [1000], events: [] });
add({ id: '7.1.3', description: 'close, then ping: no pong', run: (c) => send(c, [frame(OP.close, closeBytes(1000)), frame(OP.ping, 'Hello World!')]), expect: 'close', codes: [1000], events: [] });
add({ id: '7.1.4', description: 'close, then text: no echo', run: (c) => send(c, [frame(OP.close, closeBytes(1000)), frame(OP.text, 'Hello World!')]), expect: 'close', codes: [1000], events: [] });
add({ id: '7.1.5', description: 'first fragment, close, last fragment: no echo', run: (c) => send(c, [frame(OP.text, 'fragment1', F), frame(OP.close, closeBytes(1000)), frame(OP.continuation, 'fragment2')]), expect: 'close', codes: [1000], events: [] });
add({ id: '7.3.1', description: 'close without payload', run: (c) => send(c, [frame(OP.close)]), expect: 'close', codes: [1000, null], events: [] });
add({ id: '7.3.2', description: 'close with a 1-byte payload', run: (c) => send(c, [frame(OP.close, 'a')]), expect: 'fail', codes: [1002], events: [] });
add({ id: '7.3.3', description: 'close 1000 without reason', run: (c) => send(c, [frame(OP.close, closeBytes(1000))]), expect: 'close', codes: [1000], events: [] });
add({ id: '7.3.4', description: 'close 1000 with a reason', run: (c) => send(c, [frame(OP.close, closeBytes(1000, 'Hello World!'))]), expect: 'close', codes: [1000], events: [] });
add({ id: '7.3.5', description: 'close 1000 with a 123-byte reason', run: (c) => send(c, [frame(OP.close, closeBytes(1000, '*'.repeat(123)))]), expect: 'close', codes: [1000], events: [] });
add({ id: '7.3.6', description: 'close with a 126-byte payload', run: (c) => send(c, [frame(OP.close, closeBytes(1000, '*'.repeat(124)))]), expect: 'fail', codes: [1002], events: [] });
add({ id: '7.5.1', description: 'close 1000 with an invalid UTF-8 reason', run: (c) => send(c, [frame(OP.close, closeBytes(1000, INVALID_TEXT))]), expect: 'fail', codes: [1002, 1007], events: [] });
[1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].forEach((code, i) => add({
  id: `7.7.${i + 1}`, description: `close with valid code ${code}`, run: (c) => send(c, [frame(OP.close, closeBytes(code))]),
  expect: 'close', codes: [1000, code], events: [],
}));
[0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999].forEach((code, i) => add({
  id: `7.9.${i + 1}`, description: `close with invalid code ${code}`, run: (c) => send(c, [frame(OP.close, closeBytes(code))]),
  expect: 'fail', codes: [1002], events: [],
}));
// Codes above 4999 are undefined (RFC 6455 §7.4.2): Autobahn only reports what a
// server does (informational); echoing or failing are both accepted here.
[5000, 65535].forEach((code, i) => add({
  id: `7.13.${i + 1}`, description: `close with undefined code ${code}`, run: (c) => send(c, [frame(OP.close, closeBytes(code))]),
  expect: 'close', codes: [1000, code, 1002], events: [],
}));

function closeBytes(code, reason = '') {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(code, 0);
  return Buffer.concat([out, Buffer.from(reason)]);
}

// 9 Limits and performance: large messages, many fragments, tiny writes, many round
// trips. The server runs with WS_MAX_MESSAGE_SIZE = 16 MiB for these (see run.js).
const MiB = 1024 * 1024;
const big = (kind, n) => Buffer.alloc(n, kind === 'text' ? 0x2a : 0xfe);
for (const [section, kind] of [['9.1', 'text'], ['9.2', 'binary']]) {
  [64 * 1024, 256 * 1024, MiB, 4 * MiB, 8 * MiB, 16 * MiB].forEach((n, i) => add({
    id: `${section}.${i + 1}`, description: `${kind} message of ${n} bytes`, timeoutMs: 20000,
    run: (c) => c.sendMessage(kind, big(kind, n)), expect: 'echo', events: [{ kind, data: big(kind, n) }],
  }));
}
for (const [section, kind] of [['9.3', 'text'], ['9.4', 'binary']]) {
  [64, 256, 1024, 4096, 16384, 65536, 262144, MiB, 4 * MiB].forEach((size, i) => add({
    id: `${section}.${i + 1}`, description: `4 MiB ${kind} message in fragments of ${size} bytes`, timeoutMs: 20000,
    run: (c) => c.sendMessage(kind, big(kind, 4 * MiB), { fragmentSize: size }), expect: 'echo', events: [{ kind, data: big(kind, 4 * MiB) }],
  }));
}
for (const [section, kind] of [['9.5', 'text'], ['9.6', 'binary']]) {
  [64, 128, 256, 512, 1024, 2048].forEach((chop, i) => add({
    id: `${section}.${i + 1}`, description: `1 MiB ${kind} message written in chops of ${chop} bytes`, timeoutMs: 30000,
    run: (c) => c.sendMessage(kind, big(kind, MiB), { chop }), expect: 'echo', events: [{ kind, data: big(kind, MiB) }],
  }));
}
for (const [section, kind] of [['9.7', 'text'], ['9.8', 'binary']]) {
  [0, 16, 64, 256, 1024, 4096].forEach((n, i) => add({
    id: `${section}.${i + 1}`, description: `1000 ${kind} messages of ${n} bytes, each waiting for its echo`, timeoutMs: 30000,
    run: async (c) => {
      for (let k = 0; k < 1000; k++) {
        await c.sendMessage(kind, big(kind, n));
        if (!(await c.until(() => c.events.length > k || c.ended, 5000))) return {};
      }
      return {};
    },
    expect: 'echo', events: Array.from({ length: 1000 }, () => ({ kind, data: big(kind, n) })),
  }));
}

// 10 A message the client fragments itself (Autobahn: auto-fragmentation).
add({
  id: '10.1.1', description: 'text message of 65536 bytes in fragments of 1300', run: (c) => c.sendMessage('text', Buffer.alloc(65536, 0x2a), { fragmentSize: 1300 }),
  expect: 'echo', events: [text(Buffer.alloc(65536, 0x2a))],
});

// 12-13 permessage-deflate (RFC 7692); the server runs with WS_COMPRESSION=on. A case's
// `extensions` is the client's offer; `negotiation(deflate)` checks the server's answer
// (null: declined) and returns what is wrong, if anything.
const DEFLATE = 'permessage-deflate';
const accepted = (check = () => '') => (d) => (d ? check(d) : 'the offer was declined');
const compressible = (n) => Buffer.from(JSON.stringify({ id: 1, rows: 'natsync row '.repeat(Math.ceil(n / 12)) }).slice(0, n));
const random = (n) => crypto.randomBytes(n);
const SIZES = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072];
for (const [section, kind, make, fragmentSize, description] of [
  ['12.1', 'text', compressible, 0, 'compressible text'],
  ['12.2', 'binary', random, 0, 'random (incompressible) binary'],
  ['12.3', 'text', compressible, 256, 'compressible text, compressed then split into 256-byte fragments'],
  ['12.4', 'binary', random, 1300, 'random binary, compressed then split into 1300-byte fragments'],
]) {
  SIZES.forEach((n, i) => {
    const messages = Array.from({ length: 20 }, (_, k) => { const m = make(n); m[0] = 0x61 + (k % 26); return m; });
    add({
      id: `${section}.${i + 1}`, description: `20 compressed messages of ${n} bytes: ${description}`, timeoutMs: 10000,
      extensions: DEFLATE, negotiation: accepted(),
      run: async (c) => {
        for (let k = 0; k < messages.length; k++) {
          await c.sendMessage(kind, messages[k], { compress: true, fragmentSize });
          if (!(await c.until(() => c.events.length > k || c.ended, 5000))) return {};
        }
        return {};
      },
      expect: 'echo', events: messages.map((m) => ({ kind, data: m })),
    });
  });
}
add({
  id: '12.5.1', description: 'uncompressed and compressed messages mixed on a compressed connection', extensions: DEFLATE, negotiation: accepted(),
  run: async (c) => { for (let k = 0; k < 10; k++) await c.sendMessage('text', compressible(2000), { compress: k % 2 === 0 }); },
  expect: 'echo', events: Array.from({ length: 10 }, () => text(compressible(2000))),
});
add({
  id: '12.6.1', description: 'RSV1 on a continuation frame: fail', extensions: DEFLATE, negotiation: accepted(),
  run: (c) => send(c, [frame(OP.text, 'frag', F), frame(OP.continuation, 'ment', { rsv: 4 })]), expect: 'fail', codes: [1002], events: [],
});
add({
  id: '12.6.2', description: 'RSV1 on a ping: fail', extensions: DEFLATE, negotiation: accepted(),
  run: (c) => send(c, [frame(OP.ping, 'x', { rsv: 4 })]), expect: 'fail', codes: [1002], events: [],
});
const echoTwenty = (n) => ({
  run: async (c) => {
    for (let k = 0; k < 20; k++) {
      await c.sendMessage('text', compressible(n), { compress: !!c.deflate });
      if (!(await c.until(() => c.events.length > k || c.ended, 5000))) return {};
    }
    return {};
  },
  expect: 'echo', events: Array.from({ length: 20 }, () => text(compressible(n))),
});
const bitsAtMost = (name, max) => (d) => (d[name] !== undefined && d[name] !== true && Number(d[name]) <= max ? '' : `${name} missing or above ${max} in '${d.header}'`);
[
  ['13.1.1', DEFLATE, accepted()],
  ['13.2.1', `${DEFLATE}; client_no_context_takeover`, accepted()],
  ['13.3.1', `${DEFLATE}; server_no_context_takeover`, accepted((d) => (d.serverNoContextTakeover ? '' : `server_no_context_takeover not in '${d.header}'`))],
  ['13.4.1', `${DEFLATE}; server_max_window_bits=9`, accepted(bitsAtMost('serverMaxWindowBits', 9))],
  ['13.4.2', `${DEFLATE}; server_max_window_bits=12`, accepted(bitsAtMost('serverMaxWindowBits', 12))],
  ['13.5.1', `${DEFLATE}; client_max_window_bits`, accepted()],
  ['13.5.2', `${DEFLATE}; client_max_window_bits=9`, accepted((d) => (d.clientMaxWindowBits === undefined || Number(d.clientMaxWindowBits) <= 9 ? '' : `client_max_window_bits above 9 in '${d.header}'`))],
  ['13.6.1', `${DEFLATE}; client_no_context_takeover; server_no_context_takeover; client_max_window_bits=9; server_max_window_bits=9`,
    accepted((d) => (d.serverNoContextTakeover ? bitsAtMost('serverMaxWindowBits', 9)(d) : `server_no_context_takeover not in '${d.header}'`))],
  ['13.7.1', `${DEFLATE}; server_max_window_bits=10, ${DEFLATE}`, accepted()],
  ['13.8.1', `${DEFLATE}; no_such_parameter`, (d) => (d ? `accepted an unknown parameter: '${d.header}'` : '')],
  ['13.8.2', `${DEFLATE}; server_max_window_bits=16`, (d) => (d ? `accepted an invalid window: '${d.header}'` : '')],
  ['13.8.3', `${DEFLATE}; server_no_context_takeover=1`, (d) => (d ? `accepted a value on a flag: '${d.header}'` : '')],
  ['13.8.4', 'x-webkit-deflate-frame', (d) => (d ? `accepted an unknown extension: '${d.header}'` : '')],
].forEach(([id, offer, negotiation]) => add({ id, description: `offer '${offer}', then 20 messages of 1 KB`, extensions: offer, negotiation, ...echoTwenty(1024) }));

// L natsync's own limits on the same transport (docs/configuration.md).
add({ id: 'L.1', description: 'text message one byte over WS_MAX_MESSAGE_SIZE: close 1009', timeoutMs: 20000, run: (c) => c.sendMessage('text', big('text', 16 * MiB + 1)), expect: 'fail', codes: [1009], events: [] });
add({ id: 'L.2', description: 'fragments adding up to more than WS_MAX_MESSAGE_SIZE: close 1009', timeoutMs: 20000, run: (c) => c.sendMessage('binary', big('binary', 16 * MiB + 1), { fragmentSize: MiB }), expect: 'fail', codes: [1009], events: [] });
add({ id: 'L.3', description: 'a frame header announcing 2^63-1 bytes: close 1009', run: (c) => c.write(Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4])), expect: 'fail', codes: [1009], events: [] });
add({ id: 'L.4', description: 'an unmasked client frame', run: (c) => c.sendFrame({ opcode: OP.text, payload: Buffer.from('Hello'), mask: false }), expect: 'fail', codes: [1002], events: [] });

module.exports = { cases };
