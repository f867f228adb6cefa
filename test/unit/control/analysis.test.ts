import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyze, parseConfig } from '../../../src/config/index.js';
import type { IstioResource } from '../../../src/config/types.js';
import { ConfigAnalysis } from '../../../src/control/analysis.js';
import { servicesFromConfig } from '../../../src/control/services.js';

const YAML = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: web, namespace: default }
spec:
  hosts: [web.example.com]
  ports: [{ number: 80, name: http }]
  resolution: STATIC
  endpoints: [{ address: 10.0.0.1, labels: { version: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: web, namespace: default }
spec:
  host: web.example.com
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v9, labels: { version: v9 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: web-2, namespace: default }
spec:
  host: web.example.com
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec:
  hosts: [web.example.com]
  http:
  - route:
    - destination: { host: web.example.com, subset: v2 }
      weight: 30
    - destination:
        host: nowhere.example.com
      weight: 30
`;

const sorted = (rs: IstioResource[]) => [...rs].sort((a, b) => (`${a.kind}/${a.metadata.namespace}/${a.metadata.name}` < `${b.kind}/${b.metadata.namespace}/${b.metadata.name}` ? -1 : 1));

/** Runs a worker analysis and resolves its diagnostics. */
function inWorker(analysis: ConfigAnalysis, results: Array<() => void>, resources: IstioResource[]) {
  return new Promise<ReturnType<typeof analyze>>((resolve) => {
    results.push(() => resolve(analysis.diagnostics));
    analysis.update(resources, servicesFromConfig(resources));
  });
}

describe('ConfigAnalysis', () => {
  test('the worker finds what analyze() finds inline, with field positions and order, before and after a delta', async () => {
    const { resources, diagnostics } = parseConfig(YAML, 'mesh.yaml');
    assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
    const results: Array<() => void> = [];
    const analysis = new ConfigAnalysis({ domainSuffix: 'cluster.local', workerAbove: 0, onResult: () => results.shift()?.() });
    try {
      const list = sorted(resources);
      const want = analyze(list, { services: servicesFromConfig(list) });
      assert.ok(want.length >= 4, `expected several findings, got ${JSON.stringify(want)}`);
      assert.ok(want.some((d) => d.line !== undefined && d.line > 1));
      const got = await inWorker(analysis, results, list);
      assert.ok(analysis.inWorker);
      assert.deepEqual(got, want);

      // One resource replaced and one deleted: the worker gets only that, and still agrees.
      const fixed = parseConfig(YAML.replace('subset: v2', 'subset: v1'), 'mesh.yaml').resources.find((r) => r.kind === 'VirtualService')!;
      const next = sorted([...list.filter((r) => r.kind !== 'VirtualService' && r.metadata.name !== 'web-2'), fixed]);
      const got2 = await inWorker(analysis, results, next);
      assert.deepEqual(got2, analyze(next, { services: servicesFromConfig(next) }));
      assert.notDeepEqual(got2, got);
    } finally {
      analysis.close();
    }
  });

  test('small configs are analyzed inline: diagnostics are current when update() returns', () => {
    const { resources } = parseConfig(YAML, 'mesh.yaml');
    const list = sorted(resources);
    const analysis = new ConfigAnalysis({ domainSuffix: 'cluster.local', onResult: () => assert.fail('no worker expected') });
    analysis.update(list, servicesFromConfig(list));
    assert.equal(analysis.inWorker, false);
    assert.deepEqual(analysis.diagnostics, analyze(list, { services: servicesFromConfig(list) }));
    analysis.close();
  });
});

describe('ConfigAnalysis fed by the incremental translator', () => {
  test('worker diagnostics equal inline analyze() after every random change', async () => {
    const { translatorHarness } = await import('../translate/translator-harness.js');
    const { RandomConfig } = await import('../translate/random-config.js');
    const world = new RandomConfig(77);
    for (let i = 0; i < 20; i++) world.step();
    const h = translatorHarness();
    const t = h.translator;
    let wake: (() => void) | undefined;
    const analysis = new ConfigAnalysis({ domainSuffix: 'cluster.local', workerAbove: 0, onResult: () => wake?.() });
    try {
      let compared = 0;
      for (let i = 0; i < 40; i++) {
        if (i > 0) world.step();
        const resources = world.list();
        h.update(resources, world.announced());
        analysis.update(resources, t.serviceList(), t.lastChanges);
        while (analysis.pending) await new Promise<void>((resolve) => (wake = resolve));
        const want = analyze(resources, { services: t.serviceList() });
        assert.deepEqual(analysis.diagnostics, want, `step ${i}`);
        compared += want.length;
      }
      assert.ok(compared > 20, `only ${compared} diagnostics compared`);
    } finally {
      analysis.close();
    }
  });
});
