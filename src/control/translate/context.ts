/**
 * What every generator needs: services by host, the VirtualServices that apply to the mesh and
 * the DestinationRules, and who owns each bare short name. Generators read it only through the
 * lookups below, which lets the incremental translator (incremental.ts) record what each output
 * read and recompute only the outputs whose reads changed.
 */
import type { DestinationRule, IstioResource, VirtualService } from '../../config/types.js';
import { DEFAULT_DOMAIN_SUFFIX, type ServiceModel } from '../model.js';
import { boundToMesh, RuleIndex } from './host-index.js';
import { shortAliases } from './names.js';

/** One read of the context: what it asked about (see {@link TranslateContext.record}). */
export type ContextRead = 'svc' | 'vs' | 'dr' | 'delegate' | 'bare';

export interface TranslateContext {
  domainSuffix: string;
  /**
   * Unique by hostname, sorted by hostname: what the whole-config generators iterate. Empty in
   * the incremental translator, whose per-service code must reach other services through
   * {@link serviceOf} (a recorded read), never through this list.
   */
  services: readonly ServiceModel[];
  /** The service for a hostname; the first service of a duplicated hostname wins. */
  service(hostname: string): ServiceModel | undefined;
  /**
   * Which cluster-local host a bare short name (`reviews`) means. It is ambiguous across
   * namespaces and one snapshot serves every client, so: the only namespace holding that name,
   * else `default`, else none.
   */
  bareNameOwner(name: string): string | undefined;
  /** VirtualService and DestinationRule lookups by host (mesh-bound VirtualServices only). */
  rules: RuleIndex;
  /** Set while the incremental translator computes one output: told about every read. */
  record?: ((read: ContextRead, key: string) => void) | undefined;
}

/** Builds the context; the first service of a duplicated hostname wins. */
export function buildContext(resources: readonly IstioResource[], services: readonly ServiceModel[], domainSuffix = DEFAULT_DOMAIN_SUFFIX): TranslateContext {
  const serviceByHost = new Map<string, ServiceModel>();
  for (const s of services) if (!serviceByHost.has(s.hostname)) serviceByHost.set(s.hostname, s);
  const sorted = [...serviceByHost.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  const rules = new RuleIndex(domainSuffix);
  resources.forEach((r, seq) => {
    if (r.kind === 'VirtualService' && boundToMesh(r as VirtualService)) rules.addVirtualService(r as VirtualService, seq);
    else if (r.kind === 'DestinationRule') rules.addDestinationRule(r as DestinationRule, seq);
  });
  const owners = bareNameOwners(sorted, domainSuffix);
  return {
    domainSuffix,
    services: sorted,
    service: (host) => serviceByHost.get(host),
    bareNameOwner: (name) => owners.get(name),
    rules,
  };
}

/** Short-name owners of every bare name among `services` (sorted by hostname). */
function bareNameOwners(services: readonly ServiceModel[], domainSuffix: string): Map<string, string> {
  const byName = new Map<string, ServiceModel[]>();
  for (const s of services) {
    const k8s = shortAliases(s.hostname, domainSuffix);
    if (k8s) byName.set(k8s.name, [...(byName.get(k8s.name) ?? []), s]);
  }
  const out = new Map<string, string>();
  for (const [name, owners] of byName) {
    const owner = bareNameOwner(owners);
    if (owner) out.set(name, owner);
  }
  return out;
}

/** The owner among the services sharing one bare name (sorted by hostname): the only one, else the one in `default`. */
export function bareNameOwner(sharing: readonly ServiceModel[]): string | undefined {
  const owner = sharing.length === 1 ? sharing[0] : sharing.find((s) => s.namespace === 'default');
  return owner?.hostname;
}

/** A service lookup that the incremental translator sees. */
export function serviceOf(ctx: TranslateContext, hostname: string): ServiceModel | undefined {
  ctx.record?.('svc', hostname);
  return ctx.service(hostname);
}

/** The bare-name owner, as a recorded read. */
export function bareOwnerOf(ctx: TranslateContext, name: string): string | undefined {
  ctx.record?.('bare', name);
  return ctx.bareNameOwner(name);
}

/**
 * The VirtualService routing `hostname`: an exact host match beats a wildcard one, then
 * namespace/name order (Istio picks the oldest; creation time is not in plain config).
 */
export function virtualServiceFor(ctx: TranslateContext, hostname: string): VirtualService | undefined {
  ctx.record?.('vs', hostname);
  return ctx.rules.virtualServiceFor(hostname);
}

/**
 * The DestinationRule for `hostname`: exact host before wildcard, and within each a rule in
 * the service's own namespace before others (Istio's lookup without a client namespace, since
 * one snapshot serves every client).
 */
export function destinationRuleFor(ctx: TranslateContext, hostname: string): DestinationRule | undefined {
  ctx.record?.('dr', hostname);
  return ctx.rules.destinationRuleFor(hostname, serviceOf(ctx, hostname)?.namespace);
}

/** The host-less VirtualService a route delegates to (mesh-bound, first by namespace/name). */
export function delegateFor(ctx: TranslateContext, namespace: string, name: string): VirtualService | undefined {
  ctx.record?.('delegate', `${namespace}/${name}`);
  return ctx.rules.delegate(namespace, name);
}
