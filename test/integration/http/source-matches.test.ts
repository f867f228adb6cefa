// Issue 9 item 6 / issue 12 item 5: `sourceLabels` and `sourceNamespace` route matches select
// routes by who is calling, as in Istio: each proxy group gets its own route configuration, and
// proxies that differ only in labels no selector names share one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Mesh } from '../../../src/mesh/types.js';
import { MeshFixture } from '../../helpers/http-mesh.js';

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }, { name: v3, labels: { version: v3 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - match: [{ sourceLabels: { app: productpage, version: v2 } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - match: [{ sourceNamespace: canary, uri: { prefix: /reviews } }]
    route: [{ destination: { host: reviews, subset: v3 } }]
  - route: [{ destination: { host: reviews, subset: v1 } }]
`;

let fx: MeshFixture;
const clients: Record<string, Mesh> = {};

before(async () => {
  fx = await MeshFixture.start(CONFIG);
  for (const v of ['v1', 'v2', 'v3']) await fx.serve('reviews', { version: v });
  clients['pp-v2'] = await fx.mesh({ service: 'productpage', labels: { app: 'productpage', version: 'v2', 'pod-template-hash': 'a1' } });
  clients['pp-v2b'] = await fx.mesh({ service: 'productpage', labels: { app: 'productpage', version: 'v2', 'pod-template-hash': 'b2' } });
  clients['pp-v1'] = await fx.mesh({ service: 'productpage', labels: { app: 'productpage', version: 'v1' } });
  clients['canary'] = await fx.mesh({ service: 'tester', namespace: 'canary', labels: { app: 'tester' } });
  clients['plain'] = await fx.mesh({});
  for (const m of Object.values(clients)) await fx.waitForEndpoints(m, 'reviews', 3);
});

after(async () => {
  await fx?.close();
});

async function backend(mesh: Mesh, path = '/reviews/1'): Promise<string> {
  const res = await request(`http://reviews.default.svc.cluster.local:9080${path}`, { dispatcher: mesh.dispatcher });
  await res.body.text();
  return String(res.headers['x-backend']);
}

test('sourceLabels: callers with the selected labels get their route, others fall through', async () => {
  for (let i = 0; i < 5; i++) {
    assert.equal(await backend(clients['pp-v2']!), 'reviews-v2');
    assert.equal(await backend(clients['pp-v2b']!), 'reviews-v2');
    assert.equal(await backend(clients['pp-v1']!), 'reviews-v1');
    assert.equal(await backend(clients['plain']!), 'reviews-v1');
  }
});

test('sourceNamespace: combined with a uri match, only callers from that namespace', async () => {
  assert.equal(await backend(clients['canary']!), 'reviews-v3');
  assert.equal(await backend(clients['canary']!, '/other'), 'reviews-v1');
  assert.equal(await backend(clients['pp-v1']!), 'reviews-v1');
});

test('proxies that differ only in labels no selector names share one group snapshot', () => {
  // pp-v2 and pp-v2b differ in pod-template-hash only: the route config each got has one version.
  const versions = ['pp-v2', 'pp-v2b', 'pp-v1', 'canary', 'plain'].map((k) => clients[k]!.xds.versions()['type.googleapis.com/envoy.config.route.v3.RouteConfiguration']);
  assert.equal(versions[0], versions[1]);
  // pp-v1 and the unlabelled client are selected by nothing: the same routes, so the same
  // (content-derived) version; the v2 callers and the canary namespace get their own.
  assert.equal(versions[2], versions[4]);
  assert.equal(new Set(versions).size, 3, JSON.stringify(versions));
});
