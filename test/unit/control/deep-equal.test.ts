import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cloneData, deepEqual } from '../../../src/control/translate/deep-equal.js';

describe('deepEqual (translator output)', () => {
  test('equal structures, bytes and undefined-as-absent', () => {
    assert.equal(deepEqual({ a: [1, 'x', { b: true }], v: new Uint8Array([1, 2]) }, { v: new Uint8Array([1, 2]), a: [1, 'x', { b: true }] }), true);
    assert.equal(deepEqual({ a: 1, b: undefined }, { a: 1 }), true);
    assert.equal(deepEqual({ a: 1 }, { a: 1, b: undefined }), true);
    assert.equal(deepEqual(NaN, NaN), true);
  });

  test('differences anywhere', () => {
    assert.equal(deepEqual({ a: 1 }, { a: 2 }), false);
    assert.equal(deepEqual({ a: 1 }, { a: 1, b: 0 }), false);
    assert.equal(deepEqual({ a: null }, { a: NaN }), false);
    assert.equal(deepEqual(0, -0), false);
    assert.equal(deepEqual([1, 2], [1, 2, 3]), false);
    assert.equal(deepEqual([1], { 0: 1 }), false);
    assert.equal(deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
    assert.equal(deepEqual(new Uint8Array([1]), [1]), false);
    assert.equal(deepEqual({ v: { w: 'x' } }, { v: { w: 'y' } }), false);
  });
});

describe('cloneData', () => {
  test('copies deeply, Uint8Array views by their own bytes', () => {
    const pool = new Uint8Array(8192);
    pool.set([7, 8], 100);
    const src = { a: [{ b: pool.subarray(100, 102) }], c: 'x' };
    const copy = cloneData(src);
    assert.equal(deepEqual(copy, src), true);
    assert.equal(copy.a[0]!.b.buffer.byteLength, 2);
    src.a[0]!.b[0] = 9;
    assert.equal(copy.a[0]!.b[0], 7);
  });
});
