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
import { gatewayFingerprint, gatewayGroupKey, gatewayResources } from './translate/gateway.js';
import { generateListeners } from './translate/lds.js';
import { resolveTelemetry, sideHcmFields, sideListenerMetadata } from './translate/telemetry.js';
import type { GeneratedResource } from './translate/types.js';

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
  /** Whether any Telemetry exists (then a proxy's outbound listeners carry its client side). */
  telemetry?: boolean;
  /** Outbound listeners with a client-side Telemetry, per resolved telemetry (replicas and groups share them). */
  clientListeners?: Map<string, GeneratedResource[]>;
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
    // Gateway proxies' listeners and routes come from Gateways and gateway-bound VirtualServices,
    // which the shared snapshot does not hold: a change there is pushed like a security change.
    const security = securityFingerprint(resources) + gatewayFingerprint(resources);
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
    if (proxy?.kind === 'gateway') return this.gatewayFor(proxy);
    const shared = this.routesFor(proxy);
    const base = this.base;
    if (!shared || !base || !proxy) return shared;
    base.telemetry ??= this.resources.some((r) => r.kind === 'Telemetry');
    const names = inbound ?? [];
    if (names.length === 0 && !base.telemetry) return shared;
    // Inbound listeners (Istio grpcgen buildInboundListeners) depend on the proxy's namespace,
    // the labels security selectors name and the names asked for: replicas share a group. So
    // does the Telemetry that applies to it (its selectors' label keys are among those).
    base.securityKeys ??= inboundGroupKey.labelKeys(this.resources);
    const key = `${shared.version}|${inboundGroupKey(proxy, base.securityKeys, names)}`;
    const cached = base.groups.get(key);
    if (cached) return cached;
    const upsert = [...inboundListeners(names, this.resources, proxy), ...(base.telemetry ? this.clientListeners(base, shared, proxy) : [])];
    if (upsert.length === 0) {
      if (base.groups.size < MAX_GROUPS) base.groups.set(key, shared); // nothing of its own (no Telemetry applies)
      return shared;
    }
    const snapshot = Snapshot.patch(shared, new Map([[TYPE_URL.listener, { upsert, remove: [] }]]));
    if (base.groups.size < MAX_GROUPS) base.groups.set(key, snapshot);
    return snapshot;
  }

  /**
   * The proxy's outbound (API) listeners carrying the CLIENT side of its Telemetry, as a
   * sidecar's outbound HCMs do (Istio configureTracingFromTelemetry: ClientSpec on outbound
   * listeners); none when no Telemetry applies to it (the shared listeners say nothing).
   */
  private clientListeners(base: Base, shared: Snapshot, proxy: Proxy): GeneratedResource[] {
    const resolved = resolveTelemetry(this.resources, { namespace: proxy.namespace, labels: proxy.labels });
    if (resolved === undefined) return [];
    const telemetry = { hcm: sideHcmFields(resolved, 'client'), metadata: sideListenerMetadata(resolved, 'client') };
    const key = JSON.stringify(telemetry);
    const cache = (base.clientListeners ??= new Map());
    let list = cache.get(key);
    if (list === undefined) {
      base.dependent ??= this.dependentServices();
      const served = shared.resources(TYPE_URL.listener);
      list = generateListeners(base.dependent.ctx, telemetry).filter((l) => served.has(l.name));
      if (cache.size < MAX_GROUPS) cache.set(key, list);
    }
    return list;
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

  /**
   * A gateway proxy's snapshot: the shared clusters and endpoints, its own listeners and route
   * configurations in place of the mesh's listeners (Istio sends a gateway only gateway listeners).
   */
  private gatewayFor(proxy: Proxy): Snapshot | undefined {
    const base = this.base;
    if (!base) return undefined;
    const key = gatewayGroupKey(this.resources, proxy);
    const cached = base.groups.get(key);
    if (cached) return cached;
    base.dependent ??= this.dependentServices();
    const { listeners, routes } = gatewayResources(base.dependent.ctx, this.resources, proxy);
    const remove = [...base.snapshot.resources(TYPE_URL.listener).keys()];
    const snapshot = Snapshot.patch(base.snapshot, new Map([
      [TYPE_URL.listener, { upsert: listeners, remove }],
      [TYPE_URL.route, { upsert: routes, remove: [] }],
    ]));
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
