import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DestinationRule, IstioResource, VirtualService } from '../../../src/config/types.js';
import { mergeAnnouncements, servicesFromConfig } from '../../../src/control/services.js';
import { buildContext, delegateFor, destinationRuleFor, virtualServiceFor } from '../../../src/control/translate/context.js';
import { hostMatch, resolveHost } from '../../../src/control/translate/names.js';
import { RandomConfig } from './random-config.js';

// The linear scans the index replaced, kept as the reference it must agree with.
const byKey = (a: IstioResource, b: IstioResource): number => {
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};
function meshVirtualServices(resources: readonly IstioResource[]): VirtualService[] {
  return resources
    .filter((r): r is VirtualService => r.kind === 'VirtualService')
    .filter((vs) => !vs.spec.gateways || vs.spec.gateways.length === 0 || vs.spec.gateways.includes('mesh'))
    .sort(byKey);
}
function linearVirtualServiceFor(vss: readonly VirtualService[], hostname: string): VirtualService | undefined {
  let wildcard: VirtualService | undefined;
  for (const vs of vss) {
    for (const h of vs.spec.hosts ?? []) {
      const kind = hostMatch(resolveHost(h, vs.metadata.namespace), hostname);
      if (kind === 'exact') return vs;
      if (kind === 'wildcard') wildcard ??= vs;
    }
  }
  return wildcard;
}
function linearDestinationRuleFor(drs: readonly DestinationRule[], ns: string | undefined, hostname: string): DestinationRule | undefined {
  const candidates: Array<{ dr: DestinationRule; rank: number }> = [];
  for (const dr of drs) {
    const kind = hostMatch(resolveHost(dr.spec.host, dr.metadata.namespace), hostname);
    if (!kind) continue;
    candidates.push({ dr, rank: (kind === 'exact' ? 0 : 2) + (dr.metadata.namespace === ns ? 0 : 1) });
  }
  candidates.sort((a, b) => a.rank - b.rank);
  return candidates[0]?.dr;
}

describe('RuleIndex', () => {
  test('answers exactly as the linear scans over random configs', () => {
    let checked = 0;
    for (let seed = 100; seed < 140; seed++) {
      const world = new RandomConfig(seed);
      for (let i = 0; i < 60; i++) world.step();
      const resources = world.list();
      const services = mergeAnnouncements(servicesFromConfig(resources), world.announced());
      const ctx = buildContext(resources, services);
      const vss = meshVirtualServices(resources);
      const drs = resources.filter((r): r is DestinationRule => r.kind === 'DestinationRule').sort(byKey);
      const hosts = new Set([...services.map((s) => s.hostname), 'api.example.com', 'x.example.com', 'example.com', 'web.default.svc.cluster.local', '*.example.com']);
      for (const h of hosts) {
        assert.equal(virtualServiceFor(ctx, h), linearVirtualServiceFor(vss, h), `seed ${seed}: VirtualService for ${h}`);
        assert.equal(destinationRuleFor(ctx, h), linearDestinationRuleFor(drs, ctx.service(h)?.namespace, h), `seed ${seed}: DestinationRule for ${h}`);
        checked++;
      }
      for (const ns of ['default', 'shop', 'infra']) {
        for (const name of ['delegate-0', 'delegate-1', 'delegate-2']) {
          const want = vss.find((v) => v.metadata.name === name && v.metadata.namespace === ns && !v.spec.hosts?.length);
          assert.equal(delegateFor(ctx, ns, name), want, `seed ${seed}: delegate ${ns}/${name}`);
        }
      }
    }
    assert.ok(checked > 200);
  });

  test('duplicate keys in the input keep the first, as a stable sort did', () => {
    const mk = (timeout: string): VirtualService => ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'a', namespace: 'default' }, spec: { hosts: ['web'], http: [{ timeout, route: [{ destination: { host: 'web' } }] }] } });
    const first = mk('1s');
    const ctx = buildContext([first, mk('2s')], []);
    assert.equal(virtualServiceFor(ctx, 'web.default.svc.cluster.local'), first);
  });
});
