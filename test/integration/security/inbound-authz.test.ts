// The control server sends each workload its inbound listener (Istio's proxyless
// `xds.istio.io/grpc/lds/inbound/<addr>:<port>`), with the workload's AuthorizationPolicies as
// RBAC filters and its PeerAuthentication mode as filter chains; our XdsClient + XdsFeed decode
// it (no NACKs) into an authorization engine, and a policy-only change reaches the client.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { parseConfig } from '../../../src/config/index.js';
import { XdsClient } from '../../../src/xds/ads-client.js';
import { buildNode } from '../../../src/xds/node.js';
import { XdsFeed } from '../../../src/mesh/xds-feed.js';
import type { AuthzEngine } from '../../../src/security/authz/index.js';
import { SA, view } from '../../helpers/authz.js';

const POLICIES = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: reviews, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  portLevelMtls: { "9081": { mode: PERMISSIVE } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: reviews-viewer, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  action: ALLOW
  rules:
  - from: [{ source: { principals: [cluster.local/ns/default/sa/productpage] } }]
    to: [{ operation: { methods: [GET] } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: default }
spec:
  action: DENY
  rules: [{ to: [{ operation: { paths: [/admin/*] } }] }]
`;

let server: ControlServer;
const clients: XdsClient[] = [];
const feeds: XdsFeed[] = [];
const nacks: string[] = [];

before(async () => {
  server = await createControlServer({ xdsPort: 0, adminPort: null });
  const { resources, diagnostics } = parseConfig(POLICIES, 'security.yaml');
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  await server.store.apply(resources);
});

after(async () => {
  for (const f of feeds) f.dispose();
  await Promise.all(clients.map((c) => c.close()));
  await server?.close();
});

function workload(id: string, labels: Record<string, string>, ports: number[]): XdsFeed {
  const c = new XdsClient({ server: `127.0.0.1:${server.xdsPort}`, node: buildNode({ id, service: labels['app'] ?? 'x', labels, address: '127.0.0.1', ports: ports.map((number) => ({ number, name: `http-${number}`, protocol: 'HTTP' })) }), backoff: { initialMs: 50, maxMs: 200 } });
  c.on('nack', (typeUrl, _nonce, detail) => nacks.push(`${typeUrl}: ${detail}`));
  clients.push(c);
  const feed = new XdsFeed(c, { update: () => {} });
  feeds.push(feed);
  feed.setInboundPorts(ports);
  return feed;
}

function engineWhere(feed: XdsFeed, pred: (e: AuthzEngine) => boolean): Promise<AuthzEngine> {
  if (pred(feed.authz)) return Promise.resolve(feed.authz);
  return new Promise((resolve) => {
    const sub = feed.onAuthz((e) => {
      if (!pred(e)) return;
      sub.dispose();
      resolve(e);
    });
  });
}

test('a workload gets its inbound listeners: mTLS mode per port and its policies', async () => {
  const feed = workload('reviews-1', { app: 'reviews', version: 'v1' }, [9080, 9081]);
  const e = await engineWhere(feed, (x) => x.inboundMode(9080) !== undefined && x.inboundMode(9081) !== undefined);
  assert.equal(e.inboundMode(9080), 'STRICT');
  assert.equal(e.inboundMode(9081), 'PERMISSIVE');
  assert.equal(e.check(view({ principal: SA('default', 'productpage') })).allowed, true);
  assert.equal(e.check(view({ principal: SA('default', 'productpage'), method: 'POST' })).reason, 'no-allow-match');
  assert.equal(e.check(view({ principal: SA('default', 'other') })).allowed, false);
  assert.equal(e.check(view({ principal: SA('default', 'productpage'), path: '/admin/x' })).reason, 'denied-by-policy');
  // STRICT port: a plaintext request has no filter chain.
  assert.equal(e.check(view({ tls: false })).reason, 'no-filter-chain');
  assert.deepEqual(nacks, []);
});

test('another workload in the namespace gets only the namespace-wide policy', async () => {
  const feed = workload('ratings-1', { app: 'ratings' }, [9080]);
  const e = await engineWhere(feed, (x) => x.inboundMode(9080) !== undefined);
  assert.equal(e.inboundMode(9080), 'STRICT');
  assert.equal(e.check(view({ principal: SA('default', 'anyone'), method: 'DELETE' })).allowed, true);
  assert.equal(e.check(view({ principal: SA('default', 'anyone'), path: '/admin/x' })).allowed, false);
  assert.deepEqual(nacks, []);
});

test('a policy-only change is pushed to the workload', async () => {
  const feed = workload('reviews-2', { app: 'reviews' }, [9080]);
  await engineWhere(feed, (x) => x.inboundMode(9080) === 'STRICT');
  const { resources } = parseConfig(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: DISABLE } }
`, 'mesh.yaml');
  await server.store.apply(resources);
  const e = await engineWhere(feed, (x) => x.inboundMode(9080) === 'DISABLE');
  assert.equal(e.check(view({ tls: false, method: 'GET' })).reason, 'no-allow-match');
  assert.deepEqual(nacks, []);
});
