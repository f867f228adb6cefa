// VirtualService tcp/tls routes: applied at gateways (no warning), a MESHLET_ERR_CONFIG_UNSUPPORTED
// warning when bound to the mesh, and Istio's validateSniHost (sniHosts within the VirtualService's hosts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/index.js';

const vs = (gateways: string, sni: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: nginx }
spec:
  hosts: [nginx.example.com, '*.wild.example.com']
  ${gateways}
  tls:
  - match: [{ port: 443, sniHosts: [${sni}] }]
    route: [{ destination: { host: my-nginx.mesh-external.svc.cluster.local, port: { number: 443 } } }]
  tcp:
  - route: [{ destination: { host: tcp-echo, port: { number: 9000 } } }]
`;

const summary = (yaml: string) => parseConfig(yaml, 'vs.yaml').diagnostics.map((d) => `${d.severity} ${d.code} ${d.path}`);

test('tls and tcp routes bound to a gateway load without diagnostics', () => {
  assert.deepEqual(summary(vs('gateways: [mygateway]', 'nginx.example.com, a.wild.example.com, "*.wild.example.com"')), []);
});

test('bound to the mesh (no gateways, or mesh among them) they are a not-applied warning each', () => {
  const expected = ['warning MESHLET_ERR_CONFIG_UNSUPPORTED spec.tcp', 'warning MESHLET_ERR_CONFIG_UNSUPPORTED spec.tls'];
  assert.deepEqual(summary(vs('', 'nginx.example.com')).sort(), expected);
  assert.deepEqual(summary(vs('gateways: [mygateway, mesh]', 'nginx.example.com')).sort(), expected);
});

test('an SNI host outside the VirtualService hosts is an error (Istio validateSniHost)', () => {
  assert.deepEqual(summary(vs('gateways: [mygateway]', 'other.example.com')), ['error MESHLET_ERR_CONFIG_SCHEMA spec.tls[0].match[0].sniHosts[0]']);
  assert.deepEqual(summary(vs('gateways: [mygateway]', 'wild.example.com')), ['error MESHLET_ERR_CONFIG_SCHEMA spec.tls[0].match[0].sniHosts[0]']);
});
