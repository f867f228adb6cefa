// Cluster transport sockets end to end in one process: the control server's CDS builder (Istio's
// cluster_tls.go shapes) → protobuf → the client's validator → per-endpoint transport selection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCluster } from '../../../src/control/translate/cds.js';
import { lbEndpoint } from '../../../src/control/translate/eds.js';
import type { ClusterPlan } from '../../../src/control/translate/plan.js';
import type { EndpointModel } from '../../../src/control/model.js';
import type { ClientTLSSettings } from '../../../src/config/types.js';
import { decodeCluster, validateCluster } from '../../../src/xds/resources/cluster.js';
import { selectTransport } from '../../../src/core/model/transport.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { encode } from '../../helpers/xds-resources.js';

const HOST = 'reviews.default.svc.cluster.local';
const ID = 'spiffe://cluster.local/ns/default/sa/reviews';

function endpoint(address: string, identity?: string): EndpointModel {
  return { id: `announced/${address}`, address, ports: { 9080: 9080 }, labels: {}, healthy: true, origin: 'announced', ...(identity ? { identity } : {}) };
}

function plan(endpoints: EndpointModel[], tls?: ClientTLSSettings, subset = ''): ClusterPlan {
  return {
    name: `outbound|9080|${subset}|${HOST}`,
    service: { hostname: HOST, namespace: 'default', ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', location: 'MESH_INTERNAL', endpoints, origin: 'announced' },
    port: { number: 9080, name: 'http', protocol: 'HTTP' },
    subset,
    rule: undefined,
    policy: tls ? { tls } : {},
    endpoints,
    dnsEndpoint: undefined,
  } as ClusterPlan;
}

function clientModel(p: ClusterPlan) {
  const r = validateCluster(decodeCluster(encode(TYPE_URL.cluster, buildCluster(p, 'cluster.local'))));
  assert.ok(r.ok, JSON.stringify(r));
  return r.model;
}

/** What the client's EDS decoder puts under envoy.transport_socket_match for an endpoint. */
function matchMetadata(e: EndpointModel): Record<string, unknown> | undefined {
  const md = lbEndpoint(e, 9080)['metadata'] as { filter_metadata: Record<string, { fields: Record<string, { string_value?: string }> }> };
  const m = md.filter_metadata['envoy.transport_socket_match'];
  return m ? Object.fromEntries(Object.entries(m.fields).map(([k, v]) => [k, v.string_value])) : undefined;
}

test('auto mTLS: workloads with an identity get the istio mTLS socket, the rest plaintext', () => {
  const withId = endpoint('10.0.0.1', ID);
  const plain = endpoint('10.0.0.2');
  const model = clientModel(plan([withId, plain]));
  assert.deepEqual(model.transport?.matches.map((m) => m.name), ['tlsMode-istio', 'tlsMode-disabled']);
  const tls = selectTransport(model.transport, matchMetadata(withId));
  assert.deepEqual(tls, { kind: 'tls', sni: `outbound_.9080_._.${HOST}`, identity: true, trust: 'mesh', subjectAltNames: [ID], alpn: ['istio-peer-exchange', 'istio'] });
  assert.deepEqual(selectTransport(model.transport, matchMetadata(plain)), { kind: 'plaintext' });
});

test('no workload with an identity: no transport sockets at all (plaintext, CDS unchanged)', () => {
  const model = clientModel(plan([endpoint('10.0.0.2')]));
  assert.equal(model.transport, undefined);
  assert.equal(selectTransport(model.transport, undefined).kind, 'plaintext');
});

test('DestinationRule modes: ISTIO_MUTUAL for every endpoint, SIMPLE with system roots, DISABLE plaintext', () => {
  const plain = endpoint('10.0.0.2');
  const mutual = clientModel(plan([plain], { mode: 'ISTIO_MUTUAL', subjectAltNames: [ID] }, 'v1'));
  assert.deepEqual(selectTransport(mutual.transport, matchMetadata(plain)), { kind: 'tls', sni: `outbound_.9080_.v1_.${HOST}`, identity: true, trust: 'mesh', subjectAltNames: [ID], alpn: ['istio-peer-exchange', 'istio'] });
  const simple = clientModel(plan([plain], { mode: 'SIMPLE', sni: 'api.example.com', subjectAltNames: ['api.example.com'] }));
  assert.deepEqual(selectTransport(simple.transport, undefined), { kind: 'tls', sni: 'api.example.com', identity: false, trust: 'system', subjectAltNames: ['api.example.com'], alpn: [] });
  const disabled = clientModel(plan([endpoint('10.0.0.1', ID)], { mode: 'DISABLE' }));
  assert.equal(disabled.transport, undefined, 'DISABLE overrides auto mTLS');
});

test('SIMPLE with caCertificates and MUTUAL with clientCertificate/privateKey decode into the files the client reads', () => {
  const simple = validateCluster(decodeCluster(encode(TYPE_URL.cluster, buildCluster(plan([endpoint('10.0.0.2')], { mode: 'SIMPLE', caCertificates: '/etc/ca.pem' }), 'cluster.local'))));
  assert.equal(simple.ok, true, JSON.stringify(simple));
  const mutual = clientModel(plan([endpoint('10.0.0.2')], { mode: 'MUTUAL', clientCertificate: '/etc/certs/client.pem', privateKey: '/etc/certs/key.pem', caCertificates: '/etc/certs/ca.pem', sni: 'db.example.com' }));
  assert.deepEqual(selectTransport(mutual.transport, undefined), {
    kind: 'tls', sni: 'db.example.com', identity: false, trust: 'system', subjectAltNames: [], alpn: [],
    files: { certificateChain: '/etc/certs/client.pem', privateKey: '/etc/certs/key.pem', trustedCa: '/etc/certs/ca.pem' },
  });
});
