import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../../src/core/balancer/host.js';
import { buildLoadPlan } from '../../../src/core/balancer/priority.js';
import type { CallPlan } from '../../../src/core/types.js';
import { CLUSTER, cla, ep, locality, oneService, req, seeded } from './fixtures.js';

function picks(plan: CallPlan, n: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const k = plan.pick()?.key ?? 'none';
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

function planOf(engine: ReturnType<typeof oneService>): CallPlan {
  const r = engine.route(req());
  assert.equal(r.kind, 'forward');
  return (r as { plan: CallPlan }).plan;
}

function mk(n: number, priority: number, unhealthy = 0): Host[] {
  return Array.from({ length: n }, (_, i) => {
    const h = new Host(`10.${priority}.0.${i}`, 80);
    h.priority = priority;
    h.health = i < unhealthy ? 'UNHEALTHY' : 'HEALTHY';
    return h;
  });
}

test('priority load: overprovisioning 1.4, top-down spill, panic below 50%', () => {
  const info = (hosts: Host[]) => buildLoadPlan(hosts, 'ROUND_ROBIN', false, { random: seeded() }).info.map((l) => [l.load, l.panic]);
  assert.deepEqual(info([...mk(10, 0), ...mk(10, 1)]), [[100, false], [0, false]]);
  // 8/10 healthy → 112% capped at 100: still everything on P0.
  assert.deepEqual(info([...mk(10, 0, 2), ...mk(10, 1)]), [[100, false], [0, false]]);
  // 5/10 healthy → 70% on P0, 30% spills to P1.
  assert.deepEqual(info([...mk(10, 0, 5), ...mk(10, 1)]), [[70, false], [30, false]]);
  // Single level with 40% healthy → 56%: panic (balance over all hosts), all load stays.
  assert.deepEqual(info(mk(10, 0, 6)), [[100, true]]);
  // Nothing healthy anywhere: load by host count, all levels in panic.
  assert.deepEqual(info([...mk(3, 0, 3), ...mk(1, 1, 1)]), [[75, true], [25, true]]);
});

test('locality failover: local zone first, next priority when all local hosts are unhealthy', () => {
  const endpoints = (localUnhealthy: boolean) =>
    cla(CLUSTER, [
      locality('us-east', 'a', [ep('10.0.0.1', { health: localUnhealthy ? 'UNHEALTHY' : 'HEALTHY' }), ep('10.0.0.2', { health: localUnhealthy ? 'UNHEALTHY' : 'HEALTHY' })]),
      locality('us-east', 'b', [ep('10.0.1.1')]),
      locality('eu-west', 'a', [ep('10.1.0.1')]),
    ]);
  const local = oneService({ endpoints: endpoints(false), engine: { locality: 'us-east/a/' } });
  const c1 = picks(planOf(local), 1000);
  assert.deepEqual([...c1.keys()].sort(), ['10.0.0.1:8080', '10.0.0.2:8080']);
  const failover = oneService({ endpoints: endpoints(true), engine: { locality: 'us-east/a/' } });
  assert.deepEqual([...picks(planOf(failover), 1000).keys()], ['10.0.1.1:8080'], 'same region, other zone next');
  const noLocality = oneService({ endpoints: endpoints(false) });
  assert.equal(picks(planOf(noLocality), 1000).size, 4, 'no own locality: one priority');
});

test('EDS priorities are used as given', () => {
  const engine = oneService({
    endpoints: cla(CLUSTER, [locality('r', 'z', [ep('10.0.0.1', { health: 'DRAINING' })]), locality('r', 'y', [ep('10.0.0.2')], { priority: 1 })]),
    engine: { locality: 'r/z/' },
  });
  assert.deepEqual([...picks(planOf(engine), 100).keys()], ['10.0.0.2:8080']);
});

test('panic mode: with most hosts unhealthy, all hosts are used', () => {
  const engine = oneService({
    endpoints: cla(CLUSTER, [locality('r', 'z', [ep('10.0.0.1', { health: 'UNHEALTHY' }), ep('10.0.0.2', { health: 'TIMEOUT' }), ep('10.0.0.3')])]),
  });
  assert.equal(picks(planOf(engine), 300).size, 3);
  const mostlyHealthy = oneService({
    endpoints: cla(CLUSTER, [locality('r', 'z', [ep('10.0.0.1', { health: 'UNHEALTHY' }), ep('10.0.0.2'), ep('10.0.0.3')])]),
  });
  assert.equal(picks(planOf(mostlyHealthy), 300).get('10.0.0.1:8080'), undefined);
});

test('locality weighting splits by locality weight', () => {
  const engine = oneService({
    cluster: { localityWeighted: true },
    endpoints: cla(CLUSTER, [locality('r', 'a', [ep('10.0.0.1'), ep('10.0.0.2')], { weight: 1 }), locality('r', 'b', [ep('10.0.1.1')], { weight: 3 })]),
  });
  const c = picks(planOf(engine), 10_000);
  assert.ok(Math.abs((c.get('10.0.1.1:8080') ?? 0) - 7500) < 300, JSON.stringify([...c]));
});

test('pick(tried) avoids previously tried hosts', () => {
  const engine = oneService({});
  const plan = planOf(engine);
  const first = plan.pick()!;
  for (let i = 0; i < 50; i++) assert.notEqual(plan.pick([first])?.key, first.key);
  const ring = oneService({ cluster: { lbPolicy: 'RING_HASH' }, routes: undefined });
  const rp = planOf(ring);
  const a = rp.pick()!;
  assert.notEqual(rp.pick([a])?.key, a.key);
});

test('healthy_panic_threshold from the cluster: Istio\'s 0 never panics (3 of 4 out → all traffic on the healthy one), Envoy\'s 50 does', () => {
  const hosts = mk(4, 0, 3);
  const count = (threshold: number | undefined): number => {
    const plan = buildLoadPlan(hosts, 'ROUND_ROBIN', false, { random: seeded() }, threshold);
    let good = 0;
    for (let i = 0; i < 40; i++) if (plan.pick(0, 0, 0)?.key === '10.0.0.3:80') good++;
    return good;
  };
  assert.equal(count(0), 40, 'minHealthPercent 0: 40/40 to the healthy host');
  assert.equal(count(undefined), 10, 'Envoy default 50%: panic, 10/40');
  const allOut = buildLoadPlan(mk(2, 0, 2), 'ROUND_ROBIN', false, { random: seeded() }, 0);
  assert.equal(allOut.pick(0, 0, 0), undefined, 'nothing healthy and panic disabled: no host (503 UH)');
  assert.deepEqual(allOut.info.map((l) => [l.load, l.panic]), [[100, false]]);
});
