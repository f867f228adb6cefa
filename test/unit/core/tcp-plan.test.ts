// One proxied TCP connection's use of a cluster (core/tcp-plan.ts): admission against
// max_connections (UO), no cluster or no host (UH), the connect outcome feeding outlier detection,
// and the counters given back exactly once whatever order connected/failed/closed come in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../../../src/core/index.js';
import type { TcpConnection } from '../../../src/core/tcp-plan.js';
import { CLUSTER, OUTLIER, cluster, flat, seeded } from './fixtures.js';

function engineWith(extra: Parameters<typeof cluster>[1] = {}, endpoints = 2) {
  const engine = createEngine({ namespace: 'default', random: seeded() });
  engine.update({ listeners: new Map(), routes: new Map(), clusters: new Map([[CLUSTER, cluster(CLUSTER, extra)]]), endpoints: new Map([[CLUSTER, flat(CLUSTER, endpoints)]]) });
  return engine;
}

function admitted(r: ReturnType<NonNullable<ReturnType<typeof createEngine>['connect']>>): TcpConnection {
  assert.ok(r.ok, JSON.stringify(r));
  return r as TcpConnection;
}

test('an unknown cluster or one without hosts is UH', () => {
  const engine = engineWith({}, 0);
  assert.deepEqual(engine.connect('outbound|1||nowhere', undefined), { ok: false, cluster: 'outbound|1||nowhere', flag: 'UH' });
  assert.deepEqual(engine.connect(CLUSTER), { ok: false, cluster: CLUSTER, flag: 'UH' });
});

test('max_connections caps open connections (UO); closing one frees its slot, once', () => {
  const engine = engineWith({ circuitBreakers: { maxConnections: 2, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 } });
  const a = admitted(engine.connect(CLUSTER));
  const b = admitted(engine.connect(CLUSTER));
  assert.deepEqual(engine.connect(CLUSTER), { ok: false, cluster: CLUSTER, flag: 'UO' });
  assert.equal(engine.stats().clusters[CLUSTER]!.overflows, 1);
  a.connected();
  a.closed();
  a.closed();
  assert.equal(engine.stats().clusters[CLUSTER]!.active, 1);
  b.failed();
  b.closed();
  assert.equal(engine.stats().clusters[CLUSTER]!.active, 0);
  admitted(engine.connect(CLUSTER)).closed(); // closed before connecting: freed too
  assert.equal(engine.stats().clusters[CLUSTER]!.active, 0);
});

test('failed connects feed outlier detection: the host is ejected and later connections avoid it', () => {
  const engine = engineWith({ outlierDetection: { ...OUTLIER, consecutive5xx: 2, consecutiveGatewayFailure: 2 } });
  const first = admitted(engine.connect(CLUSTER));
  const bad = first.endpoint.key;
  first.failed();
  for (let i = 0; i < 10 && engine.stats().clusters[CLUSTER]!.ejected.length === 0; i++) {
    const c = admitted(engine.connect(CLUSTER));
    if (c.endpoint.key === bad) c.failed();
    else c.connected();
    c.closed();
  }
  assert.deepEqual(engine.stats().clusters[CLUSTER]!.ejected, [bad]);
  for (let i = 0; i < 5; i++) {
    const c = admitted(engine.connect(CLUSTER));
    assert.notEqual(c.endpoint.key, bad);
    c.closed();
  }
});
