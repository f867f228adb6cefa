// The pure parts of the etcd store: the store URL, the store key and its AES-256-GCM sealing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEtcdUrl } from '../../../src/control/store/etcd-client.js';
import { loadStoreKey, open, seal } from '../../../src/control/store/store-key.js';
import { isMeshError } from '../../../src/errors.js';

const coded = (code: string) => (err: unknown) => isMeshError(err) && err.code === code;

test('parseEtcdUrl: members and prefix', () => {
  assert.deepEqual(parseEtcdUrl('etcd://127.0.0.1:2379'), { hosts: ['http://127.0.0.1:2379'], prefix: '/meshlet/' });
  assert.deepEqual(parseEtcdUrl('etcd://a:1,b.example:2,[::1]:3/prod/mesh/'), { hosts: ['http://a:1', 'http://b.example:2', 'http://[::1]:3'], prefix: '/prod/mesh/' });
  for (const bad of ['http://a:1', 'etcd://', 'etcd://a', 'etcd://a:1/x y', 'etcd://a:1,b', `etcd://${Array.from({ length: 33 }, (_, i) => `h:${i + 1}`).join(',')}`, `etcd://a:1/${'x'.repeat(3000)}`]) {
    assert.throws(() => parseEtcdUrl(bad), coded('MESHLET_ERR_USAGE'), bad);
  }
});

test('loadStoreKey: hex or base64 from a file or the env; anything else is MESHLET_ERR_STORE_KEY', () => {
  const key = randomBytes(32);
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-key-'));
  writeFileSync(join(dir, 'hex'), `${key.toString('hex')}\n`);
  writeFileSync(join(dir, 'short'), randomBytes(16).toString('hex'));
  assert.ok(loadStoreKey({ file: join(dir, 'hex') }).equals(key));
  assert.ok(loadStoreKey({ env: { MESHLET_STORE_KEY: key.toString('base64') } }).equals(key));
  assert.throws(() => loadStoreKey({ file: join(dir, 'short') }), coded('MESHLET_ERR_STORE_KEY'));
  assert.throws(() => loadStoreKey({ file: join(dir, 'missing') }), coded('MESHLET_ERR_STORE_KEY'));
  assert.throws(() => loadStoreKey({ env: {} }), coded('MESHLET_ERR_STORE_KEY'));
  assert.throws(() => loadStoreKey({ env: { MESHLET_STORE_KEY: 'not a key' } }), coded('MESHLET_ERR_STORE_KEY'));
});

test('seal/open: round trip; a wrong key, another name or a flipped byte do not open', () => {
  const key = randomBytes(32);
  const plain = Buffer.from('-----BEGIN PRIVATE KEY-----\n…');
  const sealed = seal(key, 'ca/root-key.pem', plain);
  assert.ok(!sealed.toString().includes('PRIVATE KEY'));
  assert.ok(open(key, 'ca/root-key.pem', sealed).equals(plain));
  assert.ok(!seal(key, 'ca/root-key.pem', plain).equals(sealed), 'a fresh nonce per seal');
  assert.throws(() => open(randomBytes(32), 'ca/root-key.pem', sealed), coded('MESHLET_ERR_STORE_KEY'));
  assert.throws(() => open(key, 'ca/token-key.pem', sealed), coded('MESHLET_ERR_STORE_KEY'));
  const s = JSON.parse(sealed.toString()) as { data: string };
  const data = Buffer.from(s.data, 'base64');
  data[0] = data[0]! ^ 1;
  assert.throws(() => open(key, 'ca/root-key.pem', Buffer.from(JSON.stringify({ ...s, data: data.toString('base64') }))), coded('MESHLET_ERR_STORE_KEY'));
  assert.throws(() => open(key, 'ca/root-key.pem', Buffer.from('{}')), coded('MESHLET_ERR_STORE_KEY'));
});
