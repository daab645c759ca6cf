// Clients of shared documents for the e2e tests (documents, documents_cluster): what a
// client keeps of a document (rebuilt with npm's fast-json-patch and json-merge-patch,
// not with natsync's code), a subscribed client, REST reads, and the contended
// read-modify-write counter.
'use strict';
const jsonPatch = require('fast-json-patch');
const mergePatch = require('json-merge-patch');
const assert = require('node:assert/strict');
const { Client, postJson, waitFor } = require('./harness');

const getDocument = async (server, topic) => {
  const response = await fetch(`${server.http}/api/sync/document?topic=${encodeURIComponent(topic)}`);
  return { status: response.status, json: await response.json() };
};
const postDocument = (server, body, headers) => postJson(`${server.http}/api/sync/document`, body, headers);

// What a client keeps of one document: the snapshot, then each patch applied in order.
class DocumentMirror {
  // `from`: what the client kept of it ({revision, data}) when it resubscribes with since.
  constructor(client, topic, from) {
    this.topic = topic;
    this.revisions = [];
    this.revision = from?.revision;
    this.data = from?.data;
    this.gaps = 0;
    client.ws.on('message', (raw) => this.take(JSON.parse(String(raw))));
  }

  take(message) {
    if (message.topic !== this.topic) return;
    if (message.type === 'snapshot') {
      this.data = message.data;
      this.revision = message.revision;
      this.snapshots = (this.snapshots || 0) + 1;
    } else if (message.type === 'patch' && message.id === undefined) {  // a change, not an ack
      if (message.revision !== this.revision + 1) this.gaps++;
      this.revision = message.revision;
      this.revisions.push(message.revision);
      this.data = DocumentMirror.apply(this.data, message);
    }
  }

  static apply(document, change) {
    if (change.replace) return change.data;
    if (change.ops) return jsonPatch.applyPatch(structuredClone(document), change.ops, true, false).newDocument;
    return mergePatch.apply(structuredClone(document), change.data);
  }
}

async function subscribed(server, user, topic, since) {
  const client = await Client.open(`${server.ws}?user_id=${user}`);
  await client.next('connect');
  const mirror = new DocumentMirror(client, topic, since);
  const ack = await client.request({ type: 'subscribe', topic, ...(since ? { since: { revision: since.revision, epoch: since.epoch } } : {}) });
  await waitFor(() => mirror.revision !== undefined, 5000, 5);
  return { client, mirror, ack };
}

// Each writer ({client, mirror}) makes `increments` read-modify-write increments of
// `topic`'s "value" with if_revision, retrying each conflict once its mirror has seen
// the revision the conflict named. Resolves with the number of conflicts.
async function incrementCounter(writers, topic, increments) {
  let conflicts = 0;
  await Promise.all(writers.map(async ({ client, mirror }) => {
    for (let done = 0; done < increments;) {
      const revision = mirror.revision;
      const value = mirror.data?.value ?? 0;
      const reply = await client.request({ type: 'patch', topic, data: { value: value + 1 }, if_revision: revision }, 10000);
      if (reply.type === 'patch') { done++; continue; }
      assert.equal(reply.code, 'revision_conflict', JSON.stringify(reply));
      conflicts++;
      await waitFor(() => mirror.revision >= reply.revision, 10000, 1);
    }
  }));
  return conflicts;
}

module.exports = { DocumentMirror, subscribed, getDocument, postDocument, incrementCounter };
