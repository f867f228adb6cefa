// Connection-pool and hashing gaps of issue 9 item 5, end to end through the control server:
// `maxRequestsPerConnection: 1` opens a connection per request, and a consistentHash
// `httpCookie` with a `ttl` sets the cookie on the response (Envoy's generated cookie), after
// which the caller's cookie keeps it on one host.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import type { Mesh } from '../../../src/mesh/types.js';
import { MeshFixture } from '../../helpers/http-mesh.js';

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: oneshot }
spec:
  host: oneshot
  trafficPolicy:
    connectionPool: { http: { maxRequestsPerConnection: 1 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: threeshot }
spec:
  host: threeshot
  trafficPolicy:
    connectionPool: { http: { maxRequestsPerConnection: 3 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: sticky }
spec:
  host: sticky
  trafficPolicy:
    loadBalancer:
      consistentHash: { httpCookie: { name: session, ttl: 60s, path: / } }
`;

let fx: MeshFixture;
let client: Mesh;
const connections = new Map<string, number>();

/** A server that counts the TCP connections it accepts. */
function counting(name: string): Server {
  connections.set(name, 0);
  const s = createServer((_req, res) => res.end(name));
  s.on('connection', () => connections.set(name, (connections.get(name) ?? 0) + 1));
  return s;
}

before(async () => {
  fx = await MeshFixture.start(CONFIG);
  await fx.serve('oneshot', {}, { target: counting('oneshot') });
  await fx.serve('pooled', {}, { target: counting('pooled') });
  await fx.serve('threeshot', {}, { target: counting('threeshot') });
  for (let i = 0; i < 4; i++) await fx.serve('sticky', { n: String(i) }, { target: counting(`sticky-${i}`) });
  client = await fx.mesh({ service: 'productpage' });
  for (const [host, n] of [['oneshot', 1], ['pooled', 1], ['threeshot', 1], ['sticky', 4]] as const) await fx.waitForEndpoints(client, host, n);
});

after(async () => {
  await fx?.close();
});

async function get(url: string, headers: Record<string, string> = {}): Promise<{ body: string; setCookie: string[] }> {
  const res = await request(url, { dispatcher: client.dispatcher, headers });
  const raw = res.headers['set-cookie'];
  return { body: await res.body.text(), setCookie: raw === undefined ? [] : Array.isArray(raw) ? raw : [raw] };
}

test('maxRequestsPerConnection: 1 opens a new connection for every request, 3 one per three; the default keeps one alive', async () => {
  for (let i = 0; i < 9; i++) {
    assert.equal((await get('http://oneshot:9080/')).body, 'oneshot');
    assert.equal((await get('http://threeshot:9080/')).body, 'threeshot');
    assert.equal((await get('http://pooled:9080/')).body, 'pooled');
  }
  assert.equal(connections.get('oneshot'), 9);
  assert.equal(connections.get('threeshot'), 3);
  assert.equal(connections.get('pooled'), 1);
});

test('httpCookie with a ttl: the first response sets the cookie, and the cookie keeps the caller on one host', async () => {
  const first = await get('http://sticky:9080/');
  assert.equal(first.setCookie.length, 1, 'Envoy generates the cookie when the request has none');
  const m = /^session="([0-9a-f]{16})"; Max-Age=60; Path=\/; HttpOnly$/.exec(first.setCookie[0] ?? '');
  assert.ok(m, first.setCookie[0]);
  const cookie = `session="${m[1]}"`;
  const bodies = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const r = await get('http://sticky:9080/', { cookie });
    assert.deepEqual(r.setCookie, [], 'a request that carries the cookie gets no new one');
    bodies.add(r.body);
  }
  assert.equal(bodies.size, 1, `one host for one cookie, got ${[...bodies].join(',')}`);
  assert.ok(bodies.has(first.body), 'the generated cookie hashed the first request to the same host');
});
