/**
 * A gateway proxy's TCP listeners: TLS PASSTHROUGH servers routed by SNI and plain TCP servers,
 * as Istio builds them (`pilot/pkg/networking/core/gateway.go` createGatewayTCPFilterChainOpts,
 * buildGatewayNetworkFiltersFromTLSRoutes, buildGatewayNetworkFiltersFromTCPRoutes;
 * `networkfilter.go` buildOutboundNetworkFilters; `listener.go` toFilterChainMatch and the
 * tls_inspector rule). One socket listener per bind address and port, `<bind>_<port>`
 * (getListenerName), with one filter chain per matching VirtualService `tls` match
 * (`filter_chain_match.server_names` = its `sniHosts`, sorted; none when they include `*`) or,
 * for a TCP server, the first `tcp` route whose match applies; each chain ends in a tcp_proxy to
 * one cluster or to weighted_clusters.
 *
 * Differences from Istio, on purpose: a port the HTTP side already serves (plain-text HTTP, or
 * HTTPS terminated here) keeps it, and the passthrough/TCP servers on it are left out (Istio
 * puts terminated and passthrough chains on one listener; the meshlet gateway binds them
 * separately). AUTO_PASSTHROUGH and TLS-terminated TCP routes are not built.
 */
import type { DestinationRule, Gateway, GatewayServer, IstioResource, L4MatchAttributes, RouteDestination, VirtualService } from '../../config/types.js';
import type { Proxy } from '../proxy.js';
import { destinationRuleFor, type TranslateContext } from './context.js';
import { toDuration } from './durations.js';
import { gatewayKey, gatewaysFor, intersectHosts, resolvedVsHosts, serverHostsFor, virtualServicesForGateway } from './gateway-hosts.js';
import { anyOf } from './proto-helpers.js';
import { RouteBuilder } from './routes.js';
import type { GeneratedResource } from './types.js';

const TCP_PROXY = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const TLS_INSPECTOR = 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';

type Obj = Record<string, unknown>;

/** Istio `gateway.IsPassThroughServer` for the modes meshlet serves: a TLS/HTTPS server with tls.mode PASSTHROUGH. */
export function isPassthroughServer(server: GatewayServer): boolean {
  const p = server.port.protocol.toUpperCase();
  return (p === 'TLS' || p === 'HTTPS') && server.tls?.mode === 'PASSTHROUGH';
}

/** An opaque TCP server: a non-HTTP, non-TLS protocol without tls settings. */
export function isTcpServer(server: GatewayServer): boolean {
  const p = server.port.protocol.toUpperCase();
  return (p === 'TCP' || p === 'MONGO' || p === 'MYSQL' || p === 'REDIS') && (server.tls === undefined || server.tls.mode === undefined);
}

/** Istio `l4SingleMatch`: the match's port (if any) is the server's, and its gateways (if any) name this one. */
function l4Applies(m: L4MatchAttributes | undefined, server: GatewayServer, gateway: string, vsNamespace: string): boolean {
  if (m?.port !== undefined && m.port !== 0 && m.port !== server.port.number) return false;
  const gws = m?.gateways ?? [];
  return gws.length === 0 || gws.some((g) => g !== 'mesh' && (g.includes('/') ? g : `${vsNamespace}/${g}`) === gateway);
}

/** Istio `pickMatchingGatewayHosts` is non-empty: the server's hosts (for this namespace) and the VirtualService's overlap. */
function hostsOverlap(ctx: TranslateContext, server: GatewayServer, gw: Gateway, vs: VirtualService): boolean {
  return intersectHosts(serverHostsFor(server, vs.metadata.namespace, gw.metadata.namespace), resolvedVsHosts(vs, ctx.domainSuffix)).length > 0;
}

/** Istio `maybeSetHashPolicy`: consistentHash.useSourceIp of the DestinationRule, a subset's load balancer overriding. */
function useSourceIp(dr: DestinationRule | undefined, subset: string): boolean {
  if (!dr) return false;
  let use = dr.spec.trafficPolicy?.loadBalancer?.consistentHash?.useSourceIp === true;
  const s = dr.spec.subsets?.find((x) => x.name === subset);
  if (s?.trafficPolicy?.loadBalancer) use = s.trafficPolicy.loadBalancer.consistentHash?.useSourceIp === true;
  return use;
}

/** Istio `buildOutboundNetworkFilters`: a tcp_proxy to one cluster, or weighted clusters (routes with weight > 0). */
function tcpProxyFilter(ctx: TranslateContext, vs: VirtualService, routes: readonly RouteDestination[], server: GatewayServer, proxy: Proxy, gateway: string): Obj | undefined {
  const builder = new RouteBuilder(ctx, vs, { number: server.port.number, name: server.port.name ?? '', protocol: 'TCP' }, proxy, new Set([gateway]));
  const first = builder.cluster(routes[0]!.destination);
  const dr = destinationRuleFor(ctx, first.host);
  const tcp = dr?.spec.trafficPolicy?.connectionPool?.tcp;
  const config: Obj = {};
  if (routes.length === 1) {
    config.stat_prefix = first.name;
    config.cluster = first.name;
    if (useSourceIp(dr, first.subset)) config.hash_policy = [{ source_ip: {} }];
  } else {
    const clusters: Obj[] = [];
    for (const r of routes) if ((r.weight ?? 0) > 0) clusters.push({ name: builder.cluster(r.destination).name, weight: r.weight });
    if (clusters.length === 0) return undefined;
    config.stat_prefix = `${vs.metadata.name}.${vs.metadata.namespace}`;
    config.weighted_clusters = { clusters };
    if (useSourceIp(dr, '')) config.hash_policy = [{ source_ip: {} }];
  }
  const idle = toDuration(tcp?.idleTimeout);
  if (idle) config.idle_timeout = idle;
  const max = toDuration(tcp?.maxConnectionDuration);
  if (max) config.max_downstream_connection_duration = max;
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: anyOf(TCP_PROXY, config) };
}

interface ListenerEntry {
  bind: string;
  port: number;
  chains: Obj[];
  /** SNI hosts already matched on this listener (Istio `CheckDuplicates`), and whether a match-all chain exists. */
  sni: Set<string>;
  matchAll: boolean;
}

/** Istio `toFilterChainMatch`: sorted server names; none (match all) when they include `*`. */
function chainMatch(sniHosts: readonly string[]): Obj | undefined {
  if (sniHosts.length === 0 || sniHosts.includes('*')) return undefined;
  return { server_names: [...sniHosts].map((h) => h.toLowerCase()).sort() };
}

function passthroughChains(ctx: TranslateContext, resources: readonly IstioResource[], proxy: Proxy, gw: Gateway, server: GatewayServer, entry: ListenerEntry): void {
  const key = gatewayKey(gw);
  for (const vs of virtualServicesForGateway(resources, key)) {
    if (!hostsOverlap(ctx, server, gw, vs)) continue;
    for (const tls of vs.spec.tls ?? []) {
      if (!tls.route?.length) continue;
      for (const m of tls.match ?? []) {
        if (!l4Applies(m, server, key, vs.metadata.namespace)) continue;
        const hosts = (m.sniHosts ?? []).map((h) => h.toLowerCase());
        const all = hosts.length === 0 || hosts.includes('*');
        // Envoy refuses two chains with the same match: Istio skips a rule whose SNI hosts were taken.
        if (all ? entry.matchAll : hosts.some((h) => entry.sni.has(h))) continue;
        const filter = tcpProxyFilter(ctx, vs, tls.route, server, proxy, key);
        if (!filter) continue;
        if (all) entry.matchAll = true;
        else for (const h of hosts) entry.sni.add(h);
        const match = chainMatch(hosts);
        entry.chains.push({ ...(match ? { filter_chain_match: match } : {}), filters: [filter], name: `${vs.metadata.namespace}/${vs.metadata.name}:${entry.chains.length}`, _sni: true });
      }
    }
  }
}

function tcpChain(ctx: TranslateContext, resources: readonly IstioResource[], proxy: Proxy, gw: Gateway, server: GatewayServer, entry: ListenerEntry): void {
  if (entry.matchAll) return;
  const key = gatewayKey(gw);
  for (const vs of virtualServicesForGateway(resources, key)) {
    if (!hostsOverlap(ctx, server, gw, vs)) continue;
    for (const tcp of vs.spec.tcp ?? []) {
      const matches = tcp.match ?? [];
      const applies = matches.length === 0 || matches.some((m) => l4Applies(m, server, key, vs.metadata.namespace));
      if (!applies || !tcp.route?.length) continue;
      const filter = tcpProxyFilter(ctx, vs, tcp.route, server, proxy, key);
      if (!filter) continue;
      entry.matchAll = true;
      entry.chains.push({ filters: [filter], name: `${vs.metadata.namespace}/${vs.metadata.name}` });
      return; // Istio: the first TCP route that matches, across the bound VirtualServices
    }
  }
}

/** `<bind>_<port>`: Istio's gateway listener name for TCP transport. */
export function gatewayTcpListenerName(bind: string, port: number): string {
  return `${bind}_${port}`;
}

/**
 * The TCP listeners of a gateway proxy. `httpPorts`: ports the HTTP side serves (left out here).
 *
 * @example
 * ```ts
 * gatewayTcpListeners(ctx, resources, proxy, new Set([80])).map((l) => l.name); // ['0.0.0.0_443']
 * ```
 */
export function gatewayTcpListeners(ctx: TranslateContext, resources: readonly IstioResource[], proxy: Proxy, httpPorts: ReadonlySet<number>): GeneratedResource[] {
  const byName = new Map<string, ListenerEntry>();
  for (const gw of gatewaysFor(resources, proxy)) {
    for (const server of gw.spec.servers) {
      const passthrough = isPassthroughServer(server);
      if (!passthrough && !isTcpServer(server)) continue;
      const port = server.port.number;
      if (httpPorts.has(port)) continue;
      const bind = server.bind ?? '0.0.0.0';
      const name = gatewayTcpListenerName(bind, port);
      let entry = byName.get(name);
      if (!entry) byName.set(name, (entry = { bind, port, chains: [], sni: new Set(), matchAll: false }));
      if (passthrough) passthroughChains(ctx, resources, proxy, gw, server, entry);
      else tcpChain(ctx, resources, proxy, gw, server, entry);
    }
  }
  const out: GeneratedResource[] = [];
  for (const [name, e] of [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    // Istio: "must have more than 0 chains in listener" — a server no route binds to has no listener.
    if (e.chains.length === 0) continue;
    const inspect = e.chains.some((c) => c['_sni'] === true);
    const chains = e.chains.map(({ _sni: _unused, ...c }) => c);
    out.push({
      name,
      message: {
        name,
        address: { socket_address: { address: e.bind, port_value: e.port } },
        traffic_direction: 'OUTBOUND',
        ...(inspect ? { listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: anyOf(TLS_INSPECTOR, {}) }] } : {}),
        filter_chains: chains,
      },
    });
  }
  return out;
}
