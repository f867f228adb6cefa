import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze, formatDiagnostic, parseConfig, type AnalyzeContext, type VirtualService } from '../../../src/config/index.js';
import { BOOKINFO } from './helpers.js';

const parse = (text: string) => {
  const r = parseConfig(text, 'a.yaml');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic), []);
  return r.resources;
};
const summary = (resources: Parameters<typeof analyze>[0], ctx: AnalyzeContext = BOOKINFO) =>
  analyze(resources, ctx).map((d) => `${d.severity} ${d.code} ${d.path ?? ''}`);

describe('analyze', () => {
  it('accepts ServiceEntry hosts, including wildcard ones, as served', () => {
    const resources = parse(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: ["*.googleapis.com"]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: NONE
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ext}
spec:
  hosts: [www.googleapis.com]
  tls:
  - match: [{sniHosts: [www.googleapis.com], port: 443}]
    route: [{destination: {host: www.googleapis.com}}]
`);
    assert.deepEqual(summary(resources), []);
  });

  it('skips the hosts check for gateway-only VirtualServices but still checks their destinations', () => {
    const resources = parse(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: edge}
spec:
  hosts: [bookinfo.example.com]
  gateways: [bookinfo-gateway]
  http:
  - route: [{destination: {host: productpage}}]
    mirror: {host: shadow}
`);
    assert.deepEqual(summary(resources), ['error MESHLET_ERR_CONFIG_UNKNOWN_HOST spec.http[0].mirror.host']);
  });

  it('warns about a mesh VirtualService host nobody serves', () => {
    const resources = parse(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ghost}
spec:
  hosts: [ghost]
  http: [{route: [{destination: {host: reviews}}]}]
`);
    assert.deepEqual(summary(resources), ['warning MESHLET_ERR_CONFIG_UNKNOWN_HOST spec.hosts[0]']);
  });

  it('finds subsets through the resolved host, whatever form the DestinationRule uses', () => {
    const resources = parse(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews.default.svc.cluster.local
  subsets: [{name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews.default.svc.cluster.local, subset: v2}}]
    mirrors: [{destination: {host: reviews, subset: v3}}]
`);
    assert.deepEqual(summary(resources), ['error MESHLET_ERR_CONFIG_UNKNOWN_SUBSET spec.http[0].mirrors[0].destination.subset']);
  });

  it('checks weights of resources that did not come from YAML', () => {
    const vs: VirtualService = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: 'default' },
      spec: {
        hosts: ['reviews'],
        http: [
          { route: [{ destination: { host: 'reviews' }, weight: -5 }, { destination: { host: 'reviews' }, weight: 105 }] },
          { route: [{ destination: { host: 'reviews' }, weight: 0 }, { destination: { host: 'reviews' } }] },
        ],
        tcp: [{ route: [{ destination: { host: 'reviews' }, weight: 50 }, { destination: { host: 'reviews' }, weight: 25 }] }],
      },
    };
    const found = analyze([vs], BOOKINFO);
    assert.deepEqual(found.map((d) => `${d.severity} ${d.code} ${d.path}`), [
      'error MESHLET_ERR_CONFIG_WEIGHTS spec.http[0].route[0].weight',
      'error MESHLET_ERR_CONFIG_WEIGHTS spec.http[1].route',
      'warning MESHLET_ERR_CONFIG_WEIGHTS spec.tcp[0].route',
    ]);
    // No YAML: no position, but the resource is named.
    assert.equal(found[0]?.line, undefined);
    assert.equal(found[0]?.resource, 'VirtualService/default/reviews');
  });

  it('reports two DestinationRules for one host in one namespace, naming the winner', () => {
    const dr = (name: string, host: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}}
spec:
  host: ${host}
`;
    const resources = parse(`${dr('reviews-tls', 'reviews.default.svc.cluster.local')}---\n${dr('reviews', 'reviews')}`);
    const found = analyze(resources, BOOKINFO);
    assert.equal(found.length, 1);
    assert.equal(found[0]?.code, 'MESHLET_ERR_CONFIG_CONFLICT');
    assert.equal(found[0]?.severity, 'warning');
    assert.equal(found[0]?.resource, 'DestinationRule/default/reviews-tls');
    assert.equal(found[0]?.line, 5);
    assert.match(found[0]?.message ?? '', /default\/reviews wins/);
  });

  it('uses ServiceEntry endpoints for subsets of hosts the registry does not know', () => {
    const resources = parse(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db}
spec:
  hosts: [db.example.com]
  ports: [{number: 5432, name: pg, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1, labels: {role: primary}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db}
spec:
  host: db.example.com
  subsets: [{name: primary, labels: {role: primary}}, {name: replica, labels: {role: replica}}]
`);
    assert.deepEqual(summary(resources), ['warning MESHLET_ERR_CONFIG_EMPTY_SUBSET spec.subsets[1]']);
  });
});
