// Upstream calls from the gateway are mesh calls: mTLS with the gateway's own identity (its join
// token) to a STRICT backend, and Istio metrics with reporter="source" and the gateway as the
// source workload.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { parseConfig } from '../../../src/config/index.js';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { createGateway, type Gateway } from '../../../src/gateway/index.js';
import { createMesh } from '../../../src/mesh/create.js';
import type { Mesh } from '../../../src/mesh/types.js';
import { tempDir } from '../../helpers/ca.js';
import { parsePrometheus } from '../../helpers/prometheus-text.js';
import { waitFor } from '../../helpers/wait.js';

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: ['*']
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge }
spec:
  hosts: ['*']
  gateways: [edge]
  http:
  - route: [{ destination: { host: productpage, port: { number: 9080 } } }]
`;

let server: ControlServer;
let backend: Mesh;
const gateways: Gateway[] = [];
let removeDir: () => Promise<void>;

before(async () => {
  const t = await tempDir();
  removeDir = t.remove;
  server = await createControlServer({ caDir: t.dir, securePort: 0, xdsPort: 0, adminPort: null, signerThreads: 1, debounceMs: 5, withdrawGraceMs: 100 });
  const token = await server.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'bookinfo-productpage' });
  backend = await createMesh({ controlPlane: `127.0.0.1:${server.securePort}`, token, service: 'productpage', labels: { app: 'productpage', version: 'v1' }, inboundTlsMode: () => 'STRICT', initialFetchTimeoutMs: 5000 });
  await backend.listen((req: IncomingMessage, res: ServerResponse) => {
    res.end(JSON.stringify({ principal: backend.inbound.context(req)?.peer.identity ?? null }));
  }, { port: 0, servicePort: 9080 });
  await server.store.apply(parseConfig(CONFIG, 'edge.yaml').resources);
  await server.settled();
});

after(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await backend?.close();
  await server?.close();
  await removeDir?.();
});

async function gateway(withToken: boolean): Promise<{ gw: Gateway; base: string }> {
  const token = withToken ? await server.ca!.createJoinToken({ namespace: 'istio-system', serviceAccount: 'istio-ingressgateway-service-account' }) : undefined;
  const gw = await createGateway({
    controlPlane: `127.0.0.1:${withToken ? server.securePort : server.xdsPort}`,
    ...(token ? { token } : {}),
    host: '127.0.0.1', ports: { 80: 0 }, metricsPort: 0, initialFetchTimeoutMs: 5000,
  });
  gateways.push(gw);
  const port = await waitFor(() => gw.ports[80], 5000, 'port bound');
  return { gw, base: `http://127.0.0.1:${port}` };
}

test('with a token the gateway calls a STRICT backend over mTLS as its own identity; metrics say reporter=source, source_workload=istio-ingressgateway', async () => {
  const { gw, base } = await gateway(true);
  assert.equal(gw.mesh.identity, 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account');
  const body = await waitFor(async () => {
    const res = await request(`${base}/productpage`);
    return res.statusCode === 200 ? ((await res.body.json()) as { principal: string | null }) : (await res.body.dump(), undefined);
  }, 10_000, 'productpage through the gateway over mTLS');
  assert.equal(body.principal, 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account');
  const metrics = await request(`http://127.0.0.1:${gw.mesh.metricsPort}/stats/prometheus`);
  const samples = parsePrometheus(await metrics.body.text()).samples;
  const ok = samples.find((s) => s.name === 'istio_requests_total' && s.labels['response_code'] === '200' && s.labels['destination_service_name'] === 'productpage');
  assert.ok(ok, 'an istio_requests_total sample for productpage');
  assert.equal(ok.labels['reporter'], 'source');
  assert.equal(ok.labels['source_workload'], 'istio-ingressgateway');
  assert.equal(ok.labels['source_workload_namespace'], 'istio-system');
});

test('without a token the gateway has no identity, and the STRICT backend refuses it (503)', async () => {
  const { gw, base } = await gateway(false);
  assert.equal(gw.mesh.identity, undefined);
  // Once routed (not 404), the plaintext attempt is refused by the STRICT server.
  const status = await waitFor(async () => {
    const res = await request(`${base}/productpage`);
    await res.body.dump();
    return res.statusCode === 404 ? undefined : res.statusCode;
  }, 10_000, 'a routed answer');
  assert.equal(status, 503);
});
