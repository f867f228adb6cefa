// What an Istio user hits first (issue 9 items 4 and 8), end to end through the control server
// and the mesh: withoutHeaders matching a request that lacks the header, `x-foo: {}` presence
// matches, headers on weighted destinations (Envoy's ClusterWeight fields), and redirects that
// keep or replace the port as Envoy does.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Mesh } from '../../../src/mesh/types.js';
import type { Hit } from '../../helpers/http-backends.js';
import { MeshFixture } from '../../helpers/http-mesh.js';

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: matchy }
spec:
  hosts: [matchy]
  http:
  - match: [{ withoutHeaders: { x-canary: { exact: "1" } }, headers: { x-foo: {} } }]
    route: [{ destination: { host: matchy }, headers: { response: { set: { x-route: without-canary-with-foo } } } }]
  - match: [{ withoutHeaders: { x-canary: { exact: "1" } } }]
    route: [{ destination: { host: matchy }, headers: { response: { set: { x-route: without-canary } } } }]
  - route: [{ destination: { host: matchy }, headers: { response: { set: { x-route: canary } } } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: split }
spec:
  hosts: [split]
  http:
  - route:
    - destination: { host: split, subset: a }
      weight: 50
      headers: { request: { set: { x-dest: a } }, response: { add: { x-picked: a } } }
    - destination: { host: split, subset: b }
      weight: 50
      headers: { request: { set: { x-dest: b } }, response: { add: { x-picked: b } } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: split }
spec:
  host: split
  subsets: [{ name: a, labels: { v: a } }, { name: b, labels: { v: b } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: moved }
spec:
  hosts: [moved]
  http:
  - match: [{ uri: { prefix: /scheme } }]
    redirect: { scheme: https }
  - match: [{ uri: { prefix: /authority } }]
    redirect: { authority: elsewhere.example.com }
  - match: [{ uri: { prefix: /port } }]
    redirect: { port: 8443 }
  - match: [{ uri: { prefix: /derive } }]
    redirect: { scheme: https, derivePort: FROM_REQUEST_PORT }
  - route: [{ destination: { host: moved } }]
`;

let fx: MeshFixture;
let client: Mesh;
const splitHits: Record<string, Hit[]> = {};

before(async () => {
  fx = await MeshFixture.start(CONFIG);
  await fx.serve('matchy', {});
  for (const v of ['a', 'b']) splitHits[v] = (await fx.serve('split', { v })).hits;
  await fx.serve('moved', {});
  client = await fx.mesh({ service: 'productpage' });
  for (const [host, n] of [['matchy', 1], ['split', 2], ['moved', 1]] as const) await fx.waitForEndpoints(client, host, n);
});

after(async () => {
  await fx?.close();
});

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { dispatcher: client.dispatcher, headers });
  await res.body.text();
  return res;
}

test('withoutHeaders matches a request without the header (treat_missing_header_as_empty); x-foo: {} is a presence match', async () => {
  assert.equal((await get('http://matchy:9080/')).headers['x-route'], 'without-canary', 'no x-canary at all');
  assert.equal((await get('http://matchy:9080/', { 'x-canary': '0' })).headers['x-route'], 'without-canary');
  assert.equal((await get('http://matchy:9080/', { 'x-canary': '1' })).headers['x-route'], 'canary');
  assert.equal((await get('http://matchy:9080/', { 'x-foo': '' })).headers['x-route'], 'without-canary-with-foo', 'present, even empty');
  assert.equal((await get('http://matchy:9080/', { 'x-foo': 'bar', 'x-canary': '1' })).headers['x-route'], 'canary');
});

test('headers on weighted destinations are applied to the destination that was picked', async () => {
  const picked = { a: 0, b: 0 };
  for (let i = 0; i < 60; i++) {
    const res = await get('http://split:9080/');
    const p = res.headers['x-picked'];
    assert.ok(p === 'a' || p === 'b', `x-picked ${String(p)}`);
    picked[p]++;
  }
  assert.ok(picked.a > 0 && picked.b > 0, JSON.stringify(picked));
  assert.equal(splitHits.a!.length + splitHits.b!.length, 60);
  assert.ok(splitHits.a!.every((h) => h.headers['x-dest'] === 'a'), 'subset a got x-dest: a on every request');
  assert.ok(splitHits.b!.every((h) => h.headers['x-dest'] === 'b'));
});

test('redirects: scheme alone keeps the port, authority replaces host and port, port replaces the port', async () => {
  const loc = async (path: string): Promise<unknown> => {
    const res = await get(`http://moved:9080${path}?q=1`);
    assert.equal(res.statusCode, 301);
    return res.headers.location;
  };
  assert.equal(await loc('/scheme/x'), 'https://moved:9080/scheme/x?q=1');
  assert.equal(await loc('/authority/x'), 'http://elsewhere.example.com/authority/x?q=1');
  assert.equal(await loc('/port/x'), 'http://moved:8443/port/x?q=1');
  assert.equal(await loc('/derive/x'), 'https://moved:9080/derive/x?q=1', 'derivePort FROM_REQUEST_PORT is the listener port (Istio)');
});
