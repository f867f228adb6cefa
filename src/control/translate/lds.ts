/**
 * LDS generator (Istio `pilot/pkg/networking/grpcgen/lds.go` conventions): for each service
 * port, an API listener named `<host>:<port>` — the name a gRPC client dialing
 * `xds:///<host>:<port>` requests — whose HttpConnectionManager fetches the route configuration
 * of the same name over ADS. The fault filter is installed empty so routes can switch it on
 * per route; the router filter must come last.
 *
 * Kubernetes-style hosts also get listeners under the names a client in the cluster may dial
 * (`reviews:9080`, `reviews.default:9080`, `reviews.default.svc:9080`), all pointing at the
 * canonical route configuration; a service with a single port is also reachable without one.
 * A bare `reviews` is ambiguous across namespaces (see `bareNameOwners` in context.ts).
 */
import { TYPE_URL } from '../../xds/type-urls.js';
import type { ServiceModel } from '../model.js';
import type { TranslateContext } from './context.js';
import type { GeneratedResource } from './types.js';
import { listenerName } from './names.js';
import { anyOf, type AnyObject } from './proto-helpers.js';
import { FAULT_FILTER_NAME, ROUTER_FILTER_NAME } from './filter-names.js';
import { serviceAliases } from './aliases.js';

export { FAULT_FILTER_NAME, ROUTER_FILTER_NAME } from './filter-names.js';
export { serviceAliases } from './aliases.js';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const typeName = (url: string): string => url.slice(url.lastIndexOf('/') + 1);

let filters: Array<{ name: string; typed_config: AnyObject }> | undefined;

/** The HTTP filter chain, encoded once: it is the same for every listener. */
function httpFilters(): Array<{ name: string; typed_config: AnyObject }> {
  filters ??= [
    { name: FAULT_FILTER_NAME, typed_config: anyOf(typeName(TYPE_URL.fault), {}) },
    { name: ROUTER_FILTER_NAME, typed_config: anyOf(typeName(TYPE_URL.router), {}) },
  ];
  return filters;
}

/**
 * One API listener whose HCM takes route configuration `routeName` from ADS; `telemetry`: the
 * client side of a workload's Telemetry (HCM fields and listener metadata, translate/telemetry.ts).
 */
export function apiListener(name: string, routeName: string, telemetry?: { hcm: Record<string, unknown>; metadata: Record<string, unknown> }): Record<string, unknown> {
  const hcm = {
    ...telemetry?.hcm,
    stat_prefix: routeName,
    rds: { route_config_name: routeName, config_source: { ads: {}, resource_api_version: 'V3' } },
    http_filters: httpFilters(),
  };
  return { name, api_listener: { api_listener: anyOf(HCM, hcm) }, ...(telemetry ? { metadata: telemetry.metadata } : {}) };
}

/** A listener a service asks for, and the route configuration it would point at. */
export interface ListenerClaim {
  name: string;
  route: string;
}

/**
 * The listeners of one service: `canonical` (`<host>:<port>`) win any clash with another
 * service's `aliases` (short names, and names without a port for a single-port service);
 * among equals the service whose hostname sorts first wins, then the claim listed first.
 */
export function serviceListeners(ctx: TranslateContext, s: ServiceModel): { canonical: ListenerClaim[]; aliases: ListenerClaim[] } {
  const canonical = s.ports.map((p) => ({ name: listenerName(s.hostname, p.number), route: listenerName(s.hostname, p.number) }));
  const aliases: ListenerClaim[] = [];
  const short = serviceAliases(ctx, s);
  for (const p of s.ports) {
    const route = listenerName(s.hostname, p.number);
    for (const a of short) aliases.push({ name: listenerName(a, p.number), route });
  }
  const only = s.ports.length === 1 ? s.ports[0] : undefined;
  if (only) for (const a of [s.hostname, ...short]) aliases.push({ name: a, route: listenerName(s.hostname, only.number) });
  return { canonical, aliases };
}

/**
 * Generates listeners for every service port, canonical names first so they win any clash;
 * `telemetry` goes into each (a workload's client-side Telemetry, see snapshot-cache.ts).
 */
export function generateListeners(ctx: TranslateContext, telemetry?: { hcm: Record<string, unknown>; metadata: Record<string, unknown> }): GeneratedResource[] {
  const out = new Map<string, GeneratedResource>();
  const add = ({ name, route }: ListenerClaim): void => {
    if (!out.has(name)) out.set(name, { name, message: apiListener(name, route, telemetry) });
  };
  const claims = ctx.services.map((s) => serviceListeners(ctx, s));
  for (const c of claims) c.canonical.forEach(add);
  for (const c of claims) c.aliases.forEach(add);
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
