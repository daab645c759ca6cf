// The client's copy of a document replays the changes the server accepted: RFC 7396's
// own examples (Appendix A), and RFC 6902 operations checked against fast-json-patch (a
// maintained implementation, from tests/e2e's packages) on the same inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { applyChange, mergePatch, jsonPatch } from '../src/apply_change.js';

const require = createRequire(import.meta.url);
const reference = require('../../../tests/e2e/node_modules/fast-json-patch');

test('RFC 7396 Appendix A, every example', () => {
  const cases = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }], [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}], [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }], [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }], [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']], [{ a: 'foo' }, null, null], [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }], [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, result] of cases) assert.deepEqual(mergePatch(target, patch), result);
});

test('RFC 6902 operations give what fast-json-patch gives, and never touch their input', () => {
  const doc = { foo: 'bar', list: [1, 2, { x: [3] }], nested: { 'a/b': 1, 'm~n': 2 } };
  const patches = [
    [{ op: 'add', path: '/baz', value: 'qux' }], [{ op: 'add', path: '/list/1', value: 9 }],
    [{ op: 'add', path: '/list/-', value: { y: 1 } }], [{ op: 'remove', path: '/list/0' }],
    [{ op: 'remove', path: '/nested/a~1b' }], [{ op: 'replace', path: '/nested/m~0n', value: [] }],
    [{ op: 'replace', path: '/list/2', value: 'z' }], [{ op: 'move', from: '/list/2/x', path: '/x' }],
    [{ op: 'move', from: '/list/0', path: '/list/2' }], [{ op: 'copy', from: '/nested', path: '/list/0' }],
    [{ op: 'test', path: '/foo', value: 'bar' }, { op: 'add', path: '', value: [1] }],
    [{ op: 'add', path: '/list/2/x/0', value: 0 }, { op: 'remove', path: '/foo' }, { op: 'replace', path: '', value: { a: 1 } }],
  ];
  const before = JSON.stringify(doc);
  for (const ops of patches) {
    const expected = reference.applyPatch(reference.deepClone(doc), reference.deepClone(ops)).newDocument;
    assert.deepEqual(jsonPatch(doc, ops), expected, JSON.stringify(ops));
  }
  assert.equal(JSON.stringify(doc), before);
});

test('applyChange takes the server\'s three forms', () => {
  assert.deepEqual(applyChange({ a: 1 }, { data: { b: 2 } }), { a: 1, b: 2 });
  assert.deepEqual(applyChange({ a: 1 }, { data: { b: 2 }, replace: true }), { b: 2 });
  assert.deepEqual(applyChange(null, { ops: [{ op: 'add', path: '', value: [] }] }), []);
});
