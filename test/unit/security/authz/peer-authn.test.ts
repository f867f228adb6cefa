import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peerAuthnMode } from '../../../../src/control/translate/peer-authn.js';
import { inboundModel, peerAuthn } from '../../../helpers/authz.js';

const wl = { namespace: 'default', labels: { app: 'reviews' } };

test('default is PERMISSIVE; mesh, namespace, workload scopes override in that order', () => {
  assert.equal(peerAuthnMode([], wl, 9080), 'PERMISSIVE');
  const mesh = peerAuthn('m', { mtls: { mode: 'STRICT' } }, 'istio-system');
  assert.equal(peerAuthnMode([mesh], wl, 9080), 'STRICT');
  const ns = peerAuthn('n', { mtls: { mode: 'DISABLE' } });
  assert.equal(peerAuthnMode([mesh, ns], wl, 9080), 'DISABLE');
  const w = peerAuthn('w', { selector: { matchLabels: { app: 'reviews' } }, mtls: { mode: 'PERMISSIVE' } });
  assert.equal(peerAuthnMode([mesh, ns, w], wl, 9080), 'PERMISSIVE');
  // Another namespace's policy and a non-matching selector do not apply.
  assert.equal(peerAuthnMode([mesh, peerAuthn('o', { mtls: { mode: 'DISABLE' } }, 'other')], wl, 9080), 'STRICT');
  assert.equal(peerAuthnMode([mesh, peerAuthn('s', { selector: { matchLabels: { app: 'ratings' } }, mtls: { mode: 'DISABLE' } })], wl, 9080), 'STRICT');
});

test('UNSET inherits; a workload selector in the root namespace is ignored; the first by name wins', () => {
  const mesh = peerAuthn('m', { mtls: { mode: 'STRICT' } }, 'istio-system');
  assert.equal(peerAuthnMode([mesh, peerAuthn('n', { mtls: { mode: 'UNSET' } })], wl, 9080), 'STRICT');
  assert.equal(peerAuthnMode([mesh, peerAuthn('n', {})], wl, 9080), 'STRICT');
  assert.equal(peerAuthnMode([mesh, peerAuthn('rootsel', { selector: { matchLabels: { app: 'reviews' } }, mtls: { mode: 'DISABLE' } }, 'istio-system')], wl, 9080), 'STRICT');
  assert.equal(peerAuthnMode([peerAuthn('b', { mtls: { mode: 'DISABLE' } }), peerAuthn('a', { mtls: { mode: 'STRICT' } })], wl, 9080), 'STRICT');
});

test('portLevelMtls on a workload policy; UNSET at the port inherits the workload mode', () => {
  const w = peerAuthn('w', { selector: { matchLabels: { app: 'reviews' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '9081': { mode: 'DISABLE' }, '9082': { mode: 'UNSET' } } });
  assert.equal(peerAuthnMode([w], wl, 9080), 'STRICT');
  assert.equal(peerAuthnMode([w], wl, 9081), 'DISABLE');
  assert.equal(peerAuthnMode([w], wl, 9082), 'STRICT');
});

test('the listener carries the mode as Istio does: chains and require_client_certificate', () => {
  const strict = inboundModel([peerAuthn('m', { mtls: { mode: 'STRICT' } }, 'istio-system')]);
  assert.equal(strict.mode, 'STRICT');
  assert.deepEqual(strict.chains.map((c) => [c.name, c.tls, c.requireClientCertificate]), [['inbound-mtls', true, true]]);
  const off = inboundModel([peerAuthn('m', { mtls: { mode: 'DISABLE' } }, 'istio-system')]);
  assert.deepEqual(off.chains.map((c) => [c.name, c.tls]), [['inbound-plaintext', false]]);
  assert.equal(off.mode, 'DISABLE');
  assert.equal(inboundModel([]).mode, 'PERMISSIVE');
});
