// A third service source (an in-memory "consul" registry) added to a running control server:
// its services and endpoints reach a real xDS client through CDS and EDS, and for a hostname a
// ServiceEntry also declares, the endpoints of both sources are merged (Istio's aggregate:
// endpoint shards per registry, served as one). Nothing in translate/ knows the source exists.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createControlServer, MemoryRegistry, type ControlServer, type EndpointModel, type ServiceModel } from '../../../src/control/index.js';
import { parseConfig } from '../../../src/config/index.js';
import type { ClusterModel, EndpointsModel } from '../../../src/core/model/index.js';
import { XdsClient } from '../../../src/xds/ads-client.js';
import { buildNode } from '../../../src/xds/node.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';

const SHARED = 'reviews.default.svc.cluster.local';
const CONFIG = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews }
spec:
  hosts: [${SHARED}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { number: 9080, name: http, protocol: HTTP }
  endpoints:
  - { address: 127.0.0.1, ports: { http: 19081 } }
`;

let server: ControlServer;
let client: XdsClient;
const nacks: string[] = [];
const consul = new MemoryRegistry('consul');

function endpoint(id: string, address: string, port: number, servicePort: number): EndpointModel {
  return { id: `consul/${id}`, address, ports: { [servicePort]: port }, labels: {}, healthy: true, origin: 'consul' };
}

function service(hostname: string, servicePort: number, endpoints: EndpointModel[]): ServiceModel {
  return { hostname, namespace: 'default', ports: [{ number: servicePort, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', location: 'MESH_INTERNAL', origin: 'consul', endpoints };
}

/**
 * Follows one resource with a watch that stays open (a client that unsubscribes and
 * re-subscribes tests something else) and resolves when its value satisfies `pred`.
 */
function until<M>(typeUrl: typeof TYPE_URL.cluster | typeof TYPE_URL.endpoint, name: string, pred: (m: M | undefined) => boolean): Promise<M | undefined> {
  let entry = followed.get(`${typeUrl} ${name}`);
  if (!entry) {
    const e: Followed = { value: undefined, waiters: new Set() };
    const settle = (): void => {
      for (const w of e.waiters) w();
    };
    client.watch(typeUrl, name, {
      onChange: (_n, m) => ((e.value = m), settle()),
      onRemove: () => ((e.value = undefined), settle()),
      onError: () => {},
    });
    followed.set(`${typeUrl} ${name}`, (entry = e));
  }
  const f = entry;
  return new Promise((resolve) => {
    const check = (): void => {
      if (!pred(f.value as M | undefined)) return;
      f.waiters.delete(check);
      resolve(f.value as M | undefined);
    };
    f.waiters.add(check);
    check();
  });
}

interface Followed {
  value: unknown;
  waiters: Set<() => void>;
}
const followed = new Map<string, Followed>();

const addresses = (m: EndpointsModel | undefined): string[] => (m?.localities ?? []).flatMap((l) => l.endpoints.map((e) => `${e.address}:${e.port}`)).sort();

/** The EDS of `outbound|<port>||<host>` once it lists exactly `want`. */
async function edsOf(host: string, port: number, want: string[]): Promise<string[]> {
  const cluster = await until<ClusterModel>(TYPE_URL.cluster, `outbound|${port}||${host}`, (m) => m !== undefined);
  const eps = await until<EndpointsModel>(TYPE_URL.endpoint, cluster?.edsServiceName ?? `outbound|${port}||${host}`, (m) => addresses(m).join() === [...want].sort().join());
  return addresses(eps);
}

before(async () => {
  server = await createControlServer({ xdsPort: 0, adminPort: null, debounceMs: 0 });
  const { resources } = parseConfig(CONFIG, 'reviews.yaml');
  await server.store.apply(resources);
  client = new XdsClient({ server: `127.0.0.1:${server.xdsPort}`, node: buildNode({ id: 'web-1', service: 'web' }), backoff: { initialMs: 50, maxMs: 200 } });
  client.on('nack', (typeUrl, _nonce, detail) => nacks.push(`${typeUrl}: ${detail}`));
});

after(async () => {
  await client?.close();
  await server?.close();
});

test('a source added at run time serves its services through CDS and EDS to a real xDS client', async () => {
  server.serviceRegistry.addRegistry(consul);
  assert.deepEqual(server.serviceRegistry.providers(), ['config', 'announced', 'consul']);
  consul.set(service('billing.service.consul', 8080, [endpoint('billing-1', '10.1.0.4', 18080, 8080), endpoint('billing-2', '10.1.0.5', 18080, 8080)]));
  assert.deepEqual(await edsOf('billing.service.consul', 8080, ['10.1.0.4:18080', '10.1.0.5:18080']), ['10.1.0.4:18080', '10.1.0.5:18080']);

  // An endpoint leaves: the next push carries one.
  consul.set(service('billing.service.consul', 8080, [endpoint('billing-2', '10.1.0.5', 18080, 8080)]));
  assert.deepEqual(await edsOf('billing.service.consul', 8080, ['10.1.0.5:18080']), ['10.1.0.5:18080']);
  assert.deepEqual(nacks, []);
});

test('a hostname the config also declares: the ServiceEntry keeps the service, endpoints of both sources are merged', async () => {
  consul.set(service(SHARED, 9080, [endpoint('reviews-9', '10.2.0.9', 19089, 9080)]));
  assert.deepEqual(await edsOf(SHARED, 9080, ['127.0.0.1:19081', '10.2.0.9:19089']), ['10.2.0.9:19089', '127.0.0.1:19081']);
  const merged = server.services().find((s) => s.hostname === SHARED);
  assert.equal(merged?.origin, 'ServiceEntry');
  assert.deepEqual(merged?.endpoints.map((e) => e.id), ['ServiceEntry/default/reviews/0', 'consul/reviews-9']);

  // Removing the source takes its endpoints (and its own services) away again.
  assert.equal(server.serviceRegistry.removeRegistry('consul'), true);
  assert.deepEqual(await edsOf(SHARED, 9080, ['127.0.0.1:19081']), ['127.0.0.1:19081']);
  await until(TYPE_URL.cluster, 'outbound|8080||billing.service.consul', (m) => m === undefined);
  assert.deepEqual(nacks, []);
});
