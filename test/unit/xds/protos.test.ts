// The pruned xDS descriptor (generated/xds-protos.json, built by scripts/xds-protos.mjs) against
// the full schema parsed from the .proto files in @grpc/grpc-js-xds: every message the control
// server sends decodes and re-encodes to the same bytes with either, so pruning lost nothing
// meshlet puts on the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type protobuf from 'protobufjs';
import { createControlServer } from '../../../src/control/index.js';
import { parseConfig } from '../../../src/config/index.js';
import { DESCRIPTOR_FILE, messageType, xdsRoot } from '../../../src/xds/protos.js';
import { messageNameOf, RESOURCE_TYPE_URLS } from '../../../src/xds/type-urls.js';
// @ts-expect-error -- plain JS build script, no types
import { buildDescriptor, loadFullRoot, ROOT_TYPES } from '../../../scripts/xds-protos.mjs';

const full = loadFullRoot() as protobuf.Root;
const OPTS = { longs: String, enums: String, oneofs: true, defaults: false } as const;

test('the descriptor holds the root types and what they reach, far fewer than the full schema', () => {
  const { types } = buildDescriptor(full) as { types: number };
  for (const name of ROOT_TYPES as string[]) assert.ok(messageType(name), name);
  let all = 0;
  const count = (ns: protobuf.NamespaceBase): void => {
    for (const n of ns.nestedArray) {
      if ('values' in n || 'fields' in n) all++;
      if ('nestedArray' in n) count(n as protobuf.NamespaceBase);
    }
  };
  count(full);
  assert.ok(types < all, `${types} kept of ${all}`);
  const file = JSON.parse(readFileSync(DESCRIPTOR_FILE, 'utf8')) as { types: number; roots: string[] };
  assert.equal(file.types, types, 'generated file is current');
  assert.doesNotMatch(JSON.stringify(file), /validate\.rules|udpa\.annotations/, 'validation and annotation options are dropped');
});

test('packed repeated scalars stay packed (editions features resolved)', () => {
  const obj = { retriable_status_codes: [503, 504], num_retries: { value: 3 } };
  const name = 'envoy.config.route.v3.RetryPolicy';
  const a = full.lookupType(name);
  const b = xdsRoot().lookupType(name);
  const bytes = Buffer.from(b.encode(b.fromObject(obj)).finish());
  assert.deepEqual(bytes, Buffer.from(a.encode(a.fromObject(obj)).finish()));
  assert.equal(bytes.toString('hex'), '120208033a04f703f803');
});

test('every resource of a bookinfo snapshot round-trips to the same bytes through both schemas', async () => {
  const server = await createControlServer({ xdsPort: 0, adminPort: null, configDir: '../shared/istio-samples/bookinfo' });
  try {
    const services = ['productpage', 'reviews', 'ratings', 'details'].map((svc, i) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${svc} }
spec:
  hosts: [${svc}.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }, { number: 9090, name: grpc, protocol: GRPC }]
  endpoints:
  - { address: 127.0.0.${i + 1}, labels: { version: v1 }, locality: us/a/b }
  - { address: 127.0.1.${i + 1}, labels: { version: v2 }, weight: 3 }
  - { address: 127.0.2.${i + 1}, labels: { version: v3 } }
---
`).join('');
    const extra = parseConfig(`${services}apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: details-lb }
spec:
  host: details
  trafficPolicy:
    loadBalancer: { consistentHash: { httpHeaderName: x-user } }
    outlierDetection: { consecutive5xxErrors: 3, interval: 5s }
    connectionPool: { http: { http1MaxPendingRequests: 10 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: details }
spec:
  hosts: [details]
  http:
  - match: [{ uri: { regex: "/details/[0-9]+" }, queryParams: { q: { exact: x } } }]
    retries: { attempts: 3, perTryTimeout: 1s, retryOn: "5xx,retriable-status-codes,connect-failure" }
    route: [{ destination: { host: details, subset: v1 } }]
    headers: { request: { set: { x-a: b } } }
`, 'extra.yaml');
    assert.deepEqual(extra.diagnostics.filter((d) => d.severity === 'error'), []);
    await server.store.apply(extra.resources);
    await new Promise((r) => setTimeout(r, 100));
    let checked = 0;
    for (const typeUrl of RESOURCE_TYPE_URLS) {
      const name = messageNameOf(typeUrl);
      const [f, p] = [full.lookupType(name), messageType(name)];
      for (const [resource, entry] of server.snapshot().resources(typeUrl)) {
        const viaFull = f.toObject(f.decode(entry.value), OPTS);
        const viaPruned = p.toObject(p.decode(entry.value), OPTS);
        assert.deepEqual(viaPruned, viaFull, `${name} ${resource}`);
        assert.deepEqual(Buffer.from(p.encode(p.fromObject(viaPruned)).finish()), Buffer.from(f.encode(f.fromObject(viaFull)).finish()), `${name} ${resource}`);
        checked++;
      }
    }
    assert.ok(checked > 20, `${checked} resources checked`);
  } finally {
    await server.close();
  }
});
