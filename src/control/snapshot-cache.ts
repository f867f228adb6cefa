/**
 * Snapshots per proxy group (Istio generates per proxy; meshlet encodes once per group). The
 * builder's snapshot is what a proxy gets when nothing in the config depends on who asks; a
 * VirtualService with `sourceLabels` or `sourceNamespace` matches makes the route
 * configurations of its hosts differ by proxy, and only those: a group's snapshot is the shared
 * one with those route configurations regenerated for the group (proxy.ts: proxies with equal
 * group keys get equal output), built on first use and shared by every stream of the group.
 */
import type { IstioResource, VirtualService } from '../config/types.js';
import { TYPE_URL } from '../xds/type-urls.js';
import type { ServiceModel } from './model.js';
import { groupInputs, proxyGroupKey, type GroupInputs, type Proxy } from './proxy.js';
import { Snapshot } from './snapshot.js';
import { buildContext, virtualServiceFor, type TranslateContext } from './translate/context.js';
import { expandDelegates } from './translate/delegate.js';
import { serviceRouteConfigurations } from './translate/rds.js';
import { sourceDependent } from './translate/routes.js';
import { inboundGroupKey, inboundListeners, securityFingerprint } from './translate/inbound-group.js';

/** Past this many groups per base snapshot, further ones are built per stream (not cached). */
const MAX_GROUPS = 1024;

interface Base {
  snapshot: Snapshot;
  /** What in a proxy the config reads; found on the first request of a proxy after a build. */
  inputs?: GroupInputs;
  /** Built on first use: the context and the services whose routes depend on the proxy. */
  dependent?: { ctx: TranslateContext; services: ServiceModel[] };
  groups: Map<string, Snapshot>;
  /** Label keys security selectors read; computed on the first inbound request after a build. */
  securityKeys?: string[];
}

export class ProxySnapshots {
  private base: Base | undefined;
  private resources: readonly IstioResource[] = [];
  private services: readonly ServiceModel[] = [];
  private security = '';
  /** The VirtualServices whose routes depend on the proxy (see {@link sourceRoutingFingerprint}). */
  private routing = '';

  constructor(private readonly domainSuffix: string) {}

  /**
   * A new shared snapshot and the inputs it was built from; drops every group snapshot. Returns
   * true when the security resources changed (inbound listeners differ although the shared
   * snapshot may not): the caller then pushes as if the snapshot had changed.
   */
  update(snapshot: Snapshot, resources: readonly IstioResource[], services: readonly ServiceModel[]): boolean {
    const security = securityFingerprint(resources);
    const securityChanged = security !== this.security;
    this.security = security;
    // A change to proxy-dependent routes alone can leave the shared snapshot byte-identical (its
    // routes are what every other proxy gets, e.g. Istio's default route): the groups still change.
    const routing = sourceRoutingFingerprint(resources);
    const routingChanged = routing !== this.routing;
    this.routing = routing;
    if (this.base?.snapshot === snapshot && !securityChanged && !routingChanged) return false;
    this.resources = resources;
    this.services = services;
    this.base = { snapshot, groups: new Map() };
    return securityChanged || routingChanged;
  }

  /**
   * The snapshot `proxy` is served. The shared one unless routes depend on the proxy.
   *
   * @example
   * ```ts
   * const snap = cache.forProxy(proxyFromNode(request.node));
   * ```
   */
  forProxy(proxy: Proxy | undefined, inbound?: readonly string[]): Snapshot | undefined {
    const shared = this.routesFor(proxy);
    const base = this.base;
    if (!shared || !base || !proxy || !inbound || inbound.length === 0) return shared;
    // Inbound listeners (Istio grpcgen buildInboundListeners) depend on the proxy's namespace,
    // the labels security selectors name and the names asked for: replicas share a group.
    base.securityKeys ??= inboundGroupKey.labelKeys(this.resources);
    const key = `${shared.version}|${inboundGroupKey(proxy, base.securityKeys, inbound)}`;
    const cached = base.groups.get(key);
    if (cached) return cached;
    const upsert = inboundListeners(inbound, this.resources, proxy);
    if (upsert.length === 0) return shared;
    const snapshot = Snapshot.patch(shared, new Map([[TYPE_URL.listener, { upsert, remove: [] }]]));
    if (base.groups.size < MAX_GROUPS) base.groups.set(key, snapshot);
    return snapshot;
  }

  /** The snapshot for the proxy's routes (shared, or its sourceLabels/sourceNamespace group). */
  private routesFor(proxy: Proxy | undefined): Snapshot | undefined {
    const base = this.base;
    if (!base) return undefined;
    if (!proxy) return base.snapshot;
    const inputs = (base.inputs ??= groupInputs(this.resources.filter((r): r is VirtualService => r.kind === 'VirtualService')));
    if (inputs.labelKeys.length === 0 && !inputs.namespace) return base.snapshot;
    const key = proxyGroupKey(proxy, inputs);
    const cached = base.groups.get(key);
    if (cached) return cached;
    base.dependent ??= this.dependentServices();
    const { ctx, services } = base.dependent;
    if (services.length === 0) return base.snapshot;
    const upsert = services.flatMap((s) => serviceRouteConfigurations(ctx, s, proxy));
    const snapshot = Snapshot.patch(base.snapshot, new Map([[TYPE_URL.route, { upsert, remove: [] }]]));
    if (base.groups.size < MAX_GROUPS) base.groups.set(key, snapshot);
    return snapshot;
  }

  /** Number of group snapshots built for the current shared snapshot (status, tests). */
  get groupCount(): number {
    return this.base?.groups.size ?? 0;
  }

  private dependentServices(): { ctx: TranslateContext; services: ServiceModel[] } {
    const ctx = buildContext(this.resources, this.services, this.domainSuffix);
    const services = ctx.services.filter((s) => {
      const vs = virtualServiceFor(ctx, s.hostname);
      return vs !== undefined && expandDelegates(ctx, vs).some(sourceDependent);
    });
    return { ctx, services };
  }
}

/** The VirtualServices with `sourceLabels`/`sourceNamespace` matches, as text (equal text, equal groups). */
function sourceRoutingFingerprint(resources: readonly IstioResource[]): string {
  let text = '';
  for (const r of resources) {
    if (r.kind === 'VirtualService' && (r.spec.http ?? []).some(sourceDependent)) text += `${r.metadata.namespace}\0${r.metadata.name}\0${JSON.stringify(r.spec)}\n`;
  }
  return text;
}
