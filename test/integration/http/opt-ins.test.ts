// meshlet's route opt-ins written as VirtualService annotations, end to end through our control
// server: `meshlet.io/hedge-on-per-try-timeout` (Envoy hedge_policy) and
// `meshlet.io/retry-non-idempotent` (POST retried on 5xx like Envoy). Each is compared with the
// same route without the annotation, which must behave differently.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Mesh } from '../../../src/mesh/types.js';
import { coin, reply, sleep } from '../../helpers/http-backends.js';
import { MeshFixture, timedCall, type Served } from '../../helpers/http-mesh.js';

const route = (name: string, annotation: string, retries: string): string => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
  ${annotation ? `annotations: { ${annotation}: "true" }` : ''}
spec:
  hosts: [${name}]
  http:
  - route: [{ destination: { host: ${name} } }]
    retries: ${retries}
`;

const SLOW_RETRIES = '{ attempts: 2, perTryTimeout: 100ms, retryOn: "5xx" }';
const CONFIG = [
  route('hedged', 'meshlet.io/hedge-on-per-try-timeout', SLOW_RETRIES),
  route('unhedged', '', SLOW_RETRIES),
  route('posty', 'meshlet.io/retry-non-idempotent', '{ attempts: 10, retryOn: "5xx" }'),
  route('posty-plain', '', '{ attempts: 10, retryOn: "5xx" }'),
].join('---\n');

let fx: MeshFixture;
let client: Mesh;
const served: Record<string, Served[]> = {};

before(async () => {
  fx = await MeshFixture.start(CONFIG);
  // Every instance takes 250 ms: longer than the 100 ms per-try timeout.
  for (const host of ['hedged', 'unhedged']) {
    served[host] = [];
    for (const version of ['v1', 'v2']) {
      served[host].push(await fx.serve(host, { version }, { behaviour: async (_h, res) => { await sleep(250); reply(res, 200, `${host}-${version}`); } }));
    }
  }
  for (const host of ['posty', 'posty-plain']) {
    const fail = coin(11);
    served[host] = [await fx.serve(host, {}, { behaviour: (_h, res) => reply(res, fail() ? 503 : 200, host) })];
  }
  client = await fx.mesh({ service: 'productpage' });
  for (const host of ['hedged', 'unhedged']) await fx.waitForEndpoints(client, host, 2);
  for (const host of ['posty', 'posty-plain']) await fx.waitForEndpoints(client, host, 1);
});

after(async () => {
  await fx?.close();
});

const call = (url: string, method = 'GET'): ReturnType<typeof timedCall> => timedCall(client.dispatcher, url, method);

const hits = (host: string): number => (served[host] ?? []).reduce((n, s) => n + s.hits.length, 0);

test('hedge-on-per-try-timeout: a 250 ms service behind a 100 ms per-try timeout answers; without the annotation it times out', async () => {
  const hedged = [];
  for (let i = 0; i < 10; i++) hedged.push(await call('http://hedged:9080/'));
  assert.deepEqual(hedged.map((r) => r.status), Array(10).fill(200));
  assert.ok(hedged.every((r) => r.ms < 1_000), `latencies ${hedged.map((r) => Math.round(r.ms)).join(',')}`);
  assert.ok(hits('hedged') >= 20, `each GET reached two instances (hits ${hits('hedged')})`);

  const plain = [];
  for (let i = 0; i < 5; i++) plain.push(await call('http://unhedged:9080/'));
  assert.deepEqual(plain.map((r) => r.status), Array(5).fill(504), 'each attempt is cancelled at its per-try timeout');
  assert.ok(plain.every((r) => r.flags.includes('UT')));
});

test('hedge-on-per-try-timeout: POST is sent once and still answered (the per-try timeout is soft)', async () => {
  const before = hits('hedged');
  const r = await call('http://hedged:9080/', 'POST');
  assert.equal(r.status, 200);
  assert.equal(hits('hedged') - before, 1);
});

test('retry-non-idempotent: POST to a 50%-503 service is retried on 5xx with the annotation, not without', async () => {
  const rate = async (host: string): Promise<number> => {
    let ok = 0;
    for (let i = 0; i < 100; i++) if ((await call(`http://${host}:9080/`, 'POST')).status === 200) ok++;
    return ok / 100;
  };
  const optedIn = await rate('posty');
  const plain = await rate('posty-plain');
  assert.ok(optedIn >= 0.99, `POST success with the opt-in ${optedIn}`);
  assert.ok(plain > 0.3 && plain < 0.7, `POST success without it ${plain}`);
});
