// Applies a change the server has already accepted (so it is known to apply) to the
// client's copy of a document: an RFC 7396 merge patch, an RFC 6902 JSON Patch, or a
// replacement. The server validates every change against the RFCs with a maintained
// library before it stores it; this copy only replays what was stored, which is why a
// small applier is enough here and the package keeps no runtime dependency. Values
// are never shared with the caller's input: each change works on clones.

const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

export function mergePatch(target, patch) {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const result = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

const unescape = (token) => token.replace(/~1/g, '/').replace(/~0/g, '~');
const tokens = (path) => (path === '' ? [] : path.slice(1).split('/').map(unescape));

function parentOf(doc, path) {
  const parts = tokens(path);
  const last = parts.pop();
  let node = doc;
  for (const part of parts) node = node[Array.isArray(node) ? Number(part) : part];
  return { node, key: last };
}

function get(doc, path) {
  let node = doc;
  for (const part of tokens(path)) node = node[Array.isArray(node) ? Number(part) : part];
  return node;
}

function add(doc, path, value) {
  if (path === '') return value;
  const { node, key } = parentOf(doc, path);
  if (Array.isArray(node)) node.splice(key === '-' ? node.length : Number(key), 0, value);
  else node[key] = value;
  return doc;
}

function remove(doc, path) {
  const { node, key } = parentOf(doc, path);
  if (Array.isArray(node)) node.splice(Number(key), 1);
  else delete node[key];
  return doc;
}

export function jsonPatch(document, ops) {
  let doc = clone(document);
  for (const op of ops) {
    switch (op.op) {
      case 'add': doc = add(doc, op.path, clone(op.value)); break;
      case 'remove': doc = op.path === '' ? null : remove(doc, op.path); break;
      case 'replace': doc = op.path === '' ? clone(op.value) : add(remove(doc, op.path), op.path, clone(op.value)); break;
      case 'move': {
        if (op.from === op.path) break;
        const value = get(doc, op.from);
        doc = add(remove(doc, op.from), op.path, value);
        break;
      }
      case 'copy': doc = add(doc, op.path, clone(get(doc, op.from))); break;
      case 'test': break;  // the server checked it
      default: throw new Error(`unknown JSON Patch operation ${op.op}`);
    }
  }
  return doc;
}

// The server's `patch` message (or the client's own change) applied to `document`.
export function applyChange(document, change) {
  if (change.ops) return jsonPatch(document, change.ops);
  if (change.replace) return clone(change.data);
  return mergePatch(document, change.data);
}
