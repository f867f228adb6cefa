// Our own XdsClient against the meshlet control server: the resources the control server emits
// for stock grpc-js-xds must validate in our client too (no NACKs), and an announcing client must
// show up as endpoints for the others.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import { parseConfig } from '../../src/config/index.js';
import { XdsClient } from '../../src/xds/ads-client.js';
import { buildNode } from '../../src/xds/node.js';
import { TYPE_URL } from '../../src/xds/type-urls.js';
import type { ClusterModel, EndpointsModel, ListenerModel, RouteConfigModel } from '../../src/core/model/index.js';

const HOST = 'reviews.default.svc.cluster.local';
const CONFIG = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews }
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { number: 9080, name: http, protocol: HTTP }
  endpoints:
  - { address: 127.0.0.1, ports: { http: 19081 }, labels: { app: reviews, version: v1 } }
  - { address: 127.0.0.2, ports: { http: 19082 }, labels: { app: reviews, version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: { simple: LEAST_REQUEST }
    outlierDetection: { consecutive5xxErrors: 7, interval: 5s }
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - match: [{ headers: { end-user: { exact: jason } } }]
    fault: { delay: { fixedDelay: 2s, percentage: { value: 50 } } }
    route: [{ destination: { host: reviews, subset: v2 } }]
  - route:
    - { destination: { host: reviews, subset: v1 }, weight: 75 }
    - { destination: { host: reviews, subset: v2 }, weight: 25 }
    retries: { attempts: 3, perTryTimeout: 1s, retryOn: 5xx }
    timeout: 4s
`;

let server: ControlServer;
const clients: XdsClient[] = [];
/** Every NACK any client sent: control-server resources must all validate. */
const nacks: string[] = [];

before(async () => {
  server = await createControlServer({ xdsPort: 0, adminPort: null });
  const { resources, diagnostics } = parseConfig(CONFIG, 'reviews.yaml');
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  await server.store.apply(resources);
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.close();
});

function client(node: ReturnType<typeof buildNode>): XdsClient {
  const c = new XdsClient({ server: `127.0.0.1:${server.xdsPort}`, node, backoff: { initialMs: 50, maxMs: 200 } });
  clients.push(c);
  c.on('nack', (typeUrl, _nonce, detail) => nacks.push(`${typeUrl}: ${detail}`));
  return c;
}

/** Watches one resource and resolves with its first value satisfying `pred`. */
function first<M>(c: XdsClient, typeUrl: keyof import('../../src/core/model/index.js').ResourceModels, name: string, pred: (m: M) => boolean = () => true): Promise<M> {
  return new Promise((resolve, reject) => {
    const w = c.watch(typeUrl, name, {
      onChange: (_n, m) => {
        if (!pred(m as M)) return;
        w.dispose();
        resolve(m as M);
      },
      onError: (e) => reject(e),
    });
  });
}

test('LDS → RDS → CDS → EDS from the control server validate into the model', async () => {
  const c = client(buildNode({ id: 'productpage-1', service: 'productpage' }));
  const listener = await first<ListenerModel>(c, TYPE_URL.listener, `${HOST}:9080`);
  assert.ok(listener.routeConfigName ?? listener.routeConfig, 'listener has routes');
  const rc = listener.routeConfig ?? await first<RouteConfigModel>(c, TYPE_URL.route, listener.routeConfigName ?? '');
  const routes = rc.virtualHosts.flatMap((vh) => vh.routes);
  const jason = routes.find((r) => r.match.headers.some((h) => h.name === 'end-user'));
  assert.equal(jason?.fault?.delay?.kind, 'fixed');
  const split = routes.find((r) => r.action.kind === 'weighted');
  assert.ok(split && split.action.kind === 'weighted');
  assert.deepEqual(split.action.clusters.map((x) => x.weight), [75, 25]);
  assert.equal(split.timeoutMs, 4000);
  assert.equal(split.retryPolicy?.numRetries, 3);
  const clusterName = split.action.clusters[0]?.name ?? '';
  const cluster = await first<ClusterModel>(c, TYPE_URL.cluster, clusterName);
  assert.equal(cluster.type, 'EDS');
  assert.equal(cluster.lbPolicy, 'LEAST_REQUEST');
  assert.equal(cluster.outlierDetection?.consecutive5xx, 7);
  const eps = await first<EndpointsModel>(c, TYPE_URL.endpoint, cluster.edsServiceName ?? '');
  assert.deepEqual(eps.localities.flatMap((l) => l.endpoints.map((e) => `${e.address}:${e.port}`)), ['127.0.0.1:19081']);
  assert.deepEqual(nacks, []);
});

test('an announcing client becomes an endpoint for the others, and leaves when draining', async () => {
  const ratings = buildNode({ id: 'ratings-1', service: 'ratings', address: '127.0.0.9', ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }] });
  const server1 = client(ratings);
  server1.watch(TYPE_URL.cluster, '*', { onChange: () => {} }); // any subscription carries the node
  const c = client(buildNode({ id: 'productpage-2', service: 'productpage' }));
  const has = (m: EndpointsModel): boolean => m.localities.some((l) => l.endpoints.some((e) => e.address === '127.0.0.9'));
  const clusters = await new Promise<string[]>((resolve) => {
    c.watch(TYPE_URL.cluster, '*', {
      onChange: () => {
        const names = [...c.all(TYPE_URL.cluster).keys()].filter((n) => n.includes('ratings'));
        if (names.length > 0) resolve(names);
      },
    });
  });
  const eds = c.get(TYPE_URL.cluster, clusters[0] ?? '')?.edsServiceName ?? '';
  await first<EndpointsModel>(c, TYPE_URL.endpoint, eds, has);
  // Draining withdraws the only ratings endpoint: the control server drops the endpoint or,
  // the service being announced-only, the whole cluster (a CDS removal; EDS absence means nothing).
  const gone = Promise.race([
    first<EndpointsModel>(c, TYPE_URL.endpoint, eds, (m) => !has(m)),
    new Promise<void>((resolve) => c.watch(TYPE_URL.cluster, clusters[0] ?? '', { onChange: () => {}, onRemove: () => resolve() })),
  ]);
  server1.updateNode({ metadata: buildNode({ id: 'ratings-1', service: 'ratings', address: '127.0.0.9', ports: [{ number: 9080 }], draining: true }).metadata });
  await gone;
  assert.deepEqual(nacks, []);
});
