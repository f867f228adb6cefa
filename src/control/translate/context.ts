/**
 * What every generator needs, computed once per translation: services by host, the
 * VirtualServices that apply to the mesh and the DestinationRules, in a stable order so that the
 * same input always yields the same output.
 */
import type { DestinationRule, IstioResource, VirtualService } from '../../config/types.js';
import { DEFAULT_DOMAIN_SUFFIX, type ServiceModel } from '../model.js';
import { hostMatch, resolveHost, shortAliases } from './names.js';

export interface TranslateContext {
  domainSuffix: string;
  /** Unique by hostname, sorted by hostname. */
  services: readonly ServiceModel[];
  serviceByHost: ReadonlyMap<string, ServiceModel>;
  /** VirtualServices bound to the mesh (no `gateways`, or `mesh` among them), by namespace/name. */
  virtualServices: readonly VirtualService[];
  /** By namespace/name. */
  destinationRules: readonly DestinationRule[];
  /**
   * Which cluster-local host a bare short name (`reviews`) means. It is ambiguous across
   * namespaces and one snapshot serves every client, so: the only namespace holding that name,
   * else `default`, else none.
   */
  bareNameOwners: ReadonlyMap<string, string>;
}

function byKey(a: IstioResource, b: IstioResource): number {
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Builds the context; the first service of a duplicated hostname wins. */
export function buildContext(resources: readonly IstioResource[], services: readonly ServiceModel[], domainSuffix = DEFAULT_DOMAIN_SUFFIX): TranslateContext {
  const serviceByHost = new Map<string, ServiceModel>();
  for (const s of services) if (!serviceByHost.has(s.hostname)) serviceByHost.set(s.hostname, s);
  const sorted = [...serviceByHost.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  const virtualServices = resources
    .filter((r): r is VirtualService => r.kind === 'VirtualService')
    .filter((vs) => !vs.spec.gateways || vs.spec.gateways.length === 0 || vs.spec.gateways.includes('mesh'))
    .sort(byKey);
  const destinationRules = resources.filter((r): r is DestinationRule => r.kind === 'DestinationRule').sort(byKey);
  return { domainSuffix, services: sorted, serviceByHost, virtualServices, destinationRules, bareNameOwners: bareNameOwners(sorted, domainSuffix) };
}

function bareNameOwners(services: readonly ServiceModel[], domainSuffix: string): Map<string, string> {
  const byName = new Map<string, ServiceModel[]>();
  for (const s of services) {
    const k8s = shortAliases(s.hostname, domainSuffix);
    if (k8s) byName.set(k8s.name, [...(byName.get(k8s.name) ?? []), s]);
  }
  const out = new Map<string, string>();
  for (const [name, owners] of byName) {
    const owner = owners.length === 1 ? owners[0] : owners.find((s) => s.namespace === 'default');
    if (owner) out.set(name, owner.hostname);
  }
  return out;
}

/**
 * The VirtualService routing `hostname`: an exact host match beats a wildcard one, then
 * namespace/name order (Istio picks the oldest; creation time is not in plain config).
 */
export function virtualServiceFor(ctx: TranslateContext, hostname: string): VirtualService | undefined {
  let wildcard: VirtualService | undefined;
  for (const vs of ctx.virtualServices) {
    for (const h of vs.spec.hosts ?? []) {
      const kind = hostMatch(resolveHost(h, vs.metadata.namespace, ctx.domainSuffix), hostname);
      if (kind === 'exact') return vs;
      if (kind === 'wildcard') wildcard ??= vs;
    }
  }
  return wildcard;
}

/**
 * The DestinationRule for `hostname`: exact host before wildcard, and within each a rule in
 * the service's own namespace before others (Istio's lookup without a client namespace, since
 * one snapshot serves every client).
 */
export function destinationRuleFor(ctx: TranslateContext, hostname: string): DestinationRule | undefined {
  const ns = ctx.serviceByHost.get(hostname)?.namespace;
  const candidates: Array<{ dr: DestinationRule; rank: number }> = [];
  for (const dr of ctx.destinationRules) {
    const kind = hostMatch(resolveHost(dr.spec.host, dr.metadata.namespace, ctx.domainSuffix), hostname);
    if (!kind) continue;
    candidates.push({ dr, rank: (kind === 'exact' ? 0 : 2) + (dr.metadata.namespace === ns ? 0 : 1) });
  }
  candidates.sort((a, b) => a.rank - b.rank);
  return candidates[0]?.dr;
}
