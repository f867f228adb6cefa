import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, MeshError, isMeshError } from '../../src/errors.js';

test('every error code is documented in README.md', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const missing = Object.keys(ERROR_CODES).filter((code) => !readme.includes('`' + code + '`'));
  assert.deepEqual(missing, []);
});

test('MeshError carries code, name and cause', () => {
  const cause = new Error('EADDRINUSE');
  const err = new MeshError('MESHLET_ERR_PORT_IN_USE', 'xDS port 15010 is already in use', { cause });
  assert.equal(err.code, 'MESHLET_ERR_PORT_IN_USE');
  assert.equal(err.name, 'MeshError');
  assert.equal(err.cause, cause);
  assert.ok(isMeshError(err, 'MESHLET_ERR_PORT_IN_USE'));
  assert.ok(!isMeshError(err, 'MESHLET_ERR_USAGE'));
});

test('instanceof works across two copies of the package (Symbol.for brand)', () => {
  // What a second copy's error looks like to this copy: a different class with the same brand.
  class OtherCopyError extends Error {
    get [Symbol.for('meshlet.error')]() { return true; }
  }
  assert.ok(new OtherCopyError('x') instanceof MeshError);
  assert.ok(!(new Error('x') instanceof MeshError));
  assert.ok(!((null as unknown) instanceof MeshError));
});
