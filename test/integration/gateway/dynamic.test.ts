// Live config at the gateway: a Gateway applied after the gateway started is served, a change to
// a gateway-bound VirtualService (which the mesh's shared snapshot does not hold) is pushed and
// reroutes, a new server port is bound, and deleting the Gateway unbinds its ports.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createGateway, type Gateway } from '../../../src/gateway/index.js';
import { MeshFixture } from '../../helpers/http-mesh.js';
import { waitFor } from '../../helpers/wait.js';

const gatewayYaml = (ports: number[]) => `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: live }
spec:
  selector: { istio: ingressgateway }
  servers:
${ports.map((p) => `  - port: { number: ${p}, name: http-${p}, protocol: HTTP }\n    hosts: ['*']`).join('\n')}
`;
const vsYaml = (version: string) => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: live }
spec:
  hosts: ['*']
  gateways: [live]
  http:
  - route: [{ destination: { host: reviews, subset: ${version}, port: { number: 9080 } } }]
`;

let fx: MeshFixture;
let gw: Gateway;

before(async () => {
  fx = await MeshFixture.start('');
  await fx.serve('reviews', { app: 'reviews', version: 'v1' });
  await fx.serve('reviews', { app: 'reviews', version: 'v2' });
  gw = await createGateway({ controlPlane: `127.0.0.1:${fx.server.xdsPort}`, host: '127.0.0.1', ports: { 80: 0, 81: 0 }, initialFetchTimeoutMs: 3000 });
});

after(async () => {
  await gw?.close();
  await fx?.close();
});

/** On a settle timeout, shows which client failed to answer what. */
const dump = (e: unknown) => { process.stderr.write(JSON.stringify(fx.server.clients().map((c: any) => ({ id: c.id ?? c.node, types: c.types })), null, 1) + '\n'); throw e; };
const body = async (port: number): Promise<string> => {
  const res = await request(`http://127.0.0.1:${port}/reviews/1`);
  return res.statusCode === 200 ? res.body.text() : (await res.body.dump(), String(res.statusCode));
};

test('nothing is bound before a Gateway selects the gateway', () => {
  assert.deepEqual(gw.ports, {});
});

test('a Gateway applied later is served; a VirtualService change reroutes; a new port binds; deletion unbinds', async () => {
  await fx.apply(gatewayYaml([80]) + '---' + vsYaml('v1')).catch(dump);
  const port = await waitFor(() => gw.ports[80], 5000, 'port 80 bound');
  await waitFor(async () => (await body(port)) === 'reviews-v1', 5000, 'v1 through the gateway');
  await fx.apply(vsYaml('v2')).catch(dump);
  await waitFor(async () => (await body(port)) === 'reviews-v2', 5000, 'v2 after the VirtualService change');
  await fx.apply(gatewayYaml([80, 81])).catch(dump);
  const second = await waitFor(() => gw.ports[81], 5000, 'port 81 bound');
  await waitFor(async () => (await body(second)) === 'reviews-v2', 5000, 'port 81 routes');
  assert.equal(gw.ports[80], port, 'the unchanged port stays bound where it was');
  await fx.server.store.delete('Gateway', 'default', 'live');
  await fx.server.settled().catch(dump);
  await waitFor(() => Object.keys(gw.ports).length === 0, 5000, 'ports unbound');
  await assert.rejects(request(`http://127.0.0.1:${port}/`));
});
