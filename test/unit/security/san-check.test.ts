// The server checks of mesh and SIMPLE TLS: SPIFFE IDs against the one URI SAN, DNS names as
// node's host check, and SIMPLE without SANs checked against the server name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerCertificate } from 'node:tls';
import { checkSubjectAltNames, verifyServer } from '../../../src/security/tls/connector.js';
import type { TlsTransportModel } from '../../../src/core/model/transport.js';

const cert = (san: string) => ({ subjectaltname: san, subject: { CN: '' }, raw: Buffer.from([1]) }) as unknown as PeerCertificate;
const REVIEWS = 'spiffe://cluster.local/ns/default/sa/reviews';
const mesh = (sans: string[]): TlsTransportModel => ({ kind: 'tls', sni: 'outbound_.9080_._.reviews', identity: true, trust: 'mesh', subjectAltNames: sans, alpn: [] });
const simple = (sni: string, sans: string[] = []): TlsTransportModel => ({ kind: 'tls', sni, identity: false, trust: 'system', subjectAltNames: sans, alpn: [] });

test('SPIFFE SANs: the one URI SAN must be listed; two URI SANs or a forged quoted DNS entry never match', () => {
  assert.equal(checkSubjectAltNames(cert(`URI:${REVIEWS}`), [REVIEWS]), undefined);
  assert.match(String(checkSubjectAltNames(cert('URI:spiffe://cluster.local/ns/default/sa/ratings'), [REVIEWS])), /none of the expected names/);
  assert.ok(checkSubjectAltNames(cert(`URI:${REVIEWS}, URI:spiffe://cluster.local/ns/x/sa/y`), [REVIEWS]));
  assert.ok(checkSubjectAltNames(cert(`DNS:"x, URI:${REVIEWS}"`), [REVIEWS]));
  assert.equal(verifyServer(mesh([]), 'ignored', cert('URI:spiffe://cluster.local/ns/a/sa/b')), undefined, 'mesh TLS without SANs: any workload of the bundle');
});

test('SIMPLE: DNS SANs by host check; without SANs the server name must match', () => {
  assert.equal(verifyServer(simple('', ['api.example.com']), '10.0.0.1', cert('DNS:api.example.com')), undefined);
  assert.ok(verifyServer(simple('', ['api.example.com']), '10.0.0.1', cert('DNS:evil.example.com')));
  assert.equal(verifyServer(simple('api.example.com'), 'api.example.com', cert('DNS:*.example.com')), undefined);
  assert.ok(verifyServer(simple('api.example.com'), 'api.example.com', cert('DNS:other.test')), 'a valid public certificate for another name is refused');
});
