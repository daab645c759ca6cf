#!/usr/bin/env node
// The benchmark's Node.js peer: a pub/sub server on the npm `ws` package speaking
// natsync's JSON protocol (the subset the load generator uses: subscribe with ack,
// sync to a topic, data to subscribers; REST POST /api/sync/publish), written the way a
// Node developer would: one Map from topic to a Set of sockets, each message
// serialised once and sent to every subscriber with ws.send.
//
//   node bench/peers/ws_server.js PORT   (prints "listening on 127.0.0.1:PORT")
'use strict';
const http = require('node:http');
const path = require('node:path');
const { WebSocketServer } = require(path.join(__dirname, '../../tests/e2e/node_modules/ws'));

const port = Number(process.argv[2] || 0);
const topics = new Map(); // topic -> Set<WebSocket>

function publish(topic, data, except) {
  const subscribers = topics.get(topic);
  if (!subscribers) return;
  const text = JSON.stringify({ type: 'data', topic, data });
  for (const ws of subscribers) if (ws !== except) ws.send(text);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/api/sync/publish') {
    res.writeHead(404).end();
    return;
  }
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    try {
      const { topic, data } = JSON.parse(body);
      publish(topic, data);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"success":true}');
    } catch {
      res.writeHead(400).end();
    }
  });
});

const wss = new WebSocketServer({ server, path: '/ws/sync', perMessageDeflate: false });
wss.on('connection', (ws) => {
  const mine = new Set();
  ws.on('message', (raw) => {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      ws.send('{"type":"error","error":"invalid JSON"}');
      return;
    }
    const { type, topic, id } = message;
    if (type === 'subscribe') {
      if (!topics.has(topic)) topics.set(topic, new Set());
      topics.get(topic).add(ws);
      mine.add(topic);
      ws.send(JSON.stringify({ type: 'subscribe', topic, id }));
    } else if (type === 'unsubscribe') {
      topics.get(topic)?.delete(ws);
      mine.delete(topic);
    } else if (type === 'sync') {
      publish(topic, message.data, ws);
    }
  });
  ws.on('close', () => {
    for (const topic of mine) {
      const set = topics.get(topic);
      set?.delete(ws);
      if (set?.size === 0) topics.delete(topic);
    }
  });
});

server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
