/**
 * Gateway listeners and routes, per gateway proxy (Istio `pilot/pkg/model/gateway.go`
 * `MergeGateways` and `pilot/pkg/networking/core/gateway.go` `buildGatewayHTTPRouteConfig`):
 * the Gateways selecting the proxy are merged by port; every plain-text server of a port
 * shares the route configuration `http.<port>`, each HTTPS server gets
 * `https.<port>.<portName>.<gateway>.<namespace>`. Its virtual hosts are the intersections of
 * the server's hosts with the hosts of the VirtualServices bound to the server's Gateway, with
 * the routes those VirtualServices give for the gateway (`gateways` on matches honoured).
 *
 * A gateway proxy is a meshlet process, not Envoy, so each route configuration is carried by one
 * API listener (`0.0.0.0_<port>/<route>`) whose metadata (`meshlet.gateway`) says what to bind
 * and how to terminate TLS: the Envoy socket listener's filter chains, in data.
 */
import type { Gateway, GatewayServer, IstioResource, ServerTLSSettings } from '../../config/types.js';
import type { Proxy } from '../proxy.js';
import type { TranslateContext } from './context.js';
import { gatewayKey, gatewaysFor, intersectHosts, resolvedVsHosts, serverHostnames, serverHostsFor, virtualServicesForGateway } from './gateway-hosts.js';
import { gatewayTcpListeners } from './gateway-tcp.js';
import { apiListener } from './lds.js';
import { toStruct } from './proto-helpers.js';
import { RouteBuilder } from './routes.js';
import type { GeneratedResource } from './types.js';

/** The filter_metadata namespace of a gateway listener's description. */
export const GATEWAY_METADATA = 'meshlet.gateway';

/** TLS of one HTTPS server, as the data side needs it (the Gateway's `tls`, less `httpsRedirect`). */
export type GatewayTlsMeta = Omit<ServerTLSSettings, 'httpsRedirect'>;

/** One listener's description, in the listener's metadata. Plain JSON. */
export interface GatewayListenerMeta {
  /** The Gateway server port (what `ports` in createGateway maps to a local port). */
  port: number;
  /** `HTTP` (plain text: HTTP, HTTP2, GRPC servers) or `HTTPS` (terminated here). */
  protocol: 'HTTP' | 'HTTPS';
  route: string;
  bind?: string;
  /** Server host names (namespace part stripped): SNI names for HTTPS. */
  hosts: string[];
  /** Hosts whose plain-text requests are answered 301 to https (`tls.httpsRedirect`). */
  redirectHosts: string[];
  tls?: GatewayTlsMeta;
}

const PLAIN = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB']);

/** Istio `gatewayRDSRouteName`: `http.<port>[.<bind>]`, `https.<port>.<portName>.<gw>.<ns>[.<bind>]`; undefined for non-HTTP servers. */
export function gatewayRouteName(server: GatewayServer, gw: Gateway): string | undefined {
  const bind = server.bind ? `.${server.bind}` : '';
  const proto = server.port.protocol.toUpperCase();
  if (PLAIN.has(proto)) return `http.${server.port.number}${bind}`;
  if (proto === 'HTTPS' && server.tls?.mode !== 'PASSTHROUGH' && server.tls?.mode !== 'AUTO_PASSTHROUGH') {
    return `https.${server.port.number}.${server.port.name ?? ''}.${gw.metadata.name}.${gw.metadata.namespace}${bind}`;
  }
  return undefined;
}

interface RouteGroup {
  meta: GatewayListenerMeta;
  servers: Array<{ server: GatewayServer; gw: Gateway }>;
}

/**
 * Merges the servers of the Gateways selecting `proxy` by route name. As in Istio's
 * `MergeGateways`, a port keeps the protocol class (plain or TLS) of its first server; later
 * servers of the other class on that port are dropped.
 */
export function mergeGatewayServers(resources: readonly IstioResource[], proxy: Proxy): RouteGroup[] {
  const byRoute = new Map<string, RouteGroup>();
  const portClass = new Map<number, 'HTTP' | 'HTTPS'>();
  for (const gw of gatewaysFor(resources, proxy)) {
    for (const server of gw.spec.servers) {
      const route = gatewayRouteName(server, gw);
      if (route === undefined) continue;
      const protocol = route.startsWith('http.') ? 'HTTP' : 'HTTPS';
      const port = server.port.number;
      if ((portClass.get(port) ?? protocol) !== protocol) continue;
      portClass.set(port, protocol);
      let group = byRoute.get(route);
      if (!group) {
        const meta: GatewayListenerMeta = { port, protocol, route, hosts: [], redirectHosts: [] };
        if (server.bind) meta.bind = server.bind;
        if (protocol === 'HTTPS' && server.tls) {
          const { httpsRedirect: _unused, ...tls } = server.tls;
          meta.tls = tls;
        }
        byRoute.set(route, (group = { meta, servers: [] }));
      }
      group.servers.push({ server, gw });
      for (const h of serverHostnames(server)) {
        if (!group.meta.hosts.includes(h)) group.meta.hosts.push(h);
        if (server.tls?.httpsRedirect && protocol === 'HTTP' && !group.meta.redirectHosts.includes(h)) group.meta.redirectHosts.push(h);
      }
    }
  }
  return [...byRoute.values()].sort((a, b) => (a.meta.route < b.meta.route ? -1 : a.meta.route > b.meta.route ? 1 : 0));
}

/** The virtual hosts of one route configuration (Istio dedups them by hostname, appending routes). */
function virtualHosts(ctx: TranslateContext, resources: readonly IstioResource[], group: RouteGroup, proxy: Proxy): Array<Record<string, unknown>> {
  const vhosts = new Map<string, { name: string; domains: string[]; routes: Array<Record<string, unknown>> }>();
  const port = { number: group.meta.port, name: group.meta.route, protocol: 'HTTP' };
  for (const { server, gw } of group.servers) {
    const key = gatewayKey(gw);
    for (const vs of virtualServicesForGateway(resources, key)) {
      const hosts = intersectHosts(serverHostsFor(server, vs.metadata.namespace, gw.metadata.namespace), resolvedVsHosts(vs, ctx.domainSuffix));
      if (hosts.length === 0) continue;
      const routes = new RouteBuilder(ctx, vs, port, proxy, new Set([key])).build();
      for (const h of hosts) {
        const existing = vhosts.get(h);
        if (existing) existing.routes.push(...routes);
        else vhosts.set(h, { name: `${h}:${group.meta.port}`, domains: [h], routes: [...routes] });
      }
    }
  }
  return [...vhosts.values()];
}

/**
 * A gateway proxy's listeners and route configurations.
 *
 * @example
 * ```ts
 * const { listeners, routes } = gatewayResources(ctx, resources, proxy);
 * listeners.map((l) => l.name); // ['0.0.0.0_80/http.80']
 * ```
 */
export function gatewayResources(ctx: TranslateContext, resources: readonly IstioResource[], proxy: Proxy): { listeners: GeneratedResource[]; routes: GeneratedResource[] } {
  const listeners: GeneratedResource[] = [];
  const routes: GeneratedResource[] = [];
  const groups = mergeGatewayServers(resources, proxy);
  for (const group of groups) {
    const name = gatewayListenerName(group.meta.port, group.meta.route);
    const listener = apiListener(name, group.meta.route);
    listener.metadata = { filter_metadata: { [GATEWAY_METADATA]: toStruct(group.meta as unknown as Record<string, unknown>) } };
    listeners.push({ name, message: listener });
    routes.push({ name: group.meta.route, message: { name: group.meta.route, virtual_hosts: virtualHosts(ctx, resources, group, proxy) } });
  }
  // TLS PASSTHROUGH and TCP servers: socket listeners with tcp_proxy chains (gateway-tcp.ts).
  listeners.push(...gatewayTcpListeners(ctx, resources, proxy, new Set(groups.map((g) => g.meta.port))));
  return { listeners, routes };
}

/** `0.0.0.0_<port>/<route>`: Istio's gateway listener name, then the route it carries. */
export function gatewayListenerName(port: number, route: string): string {
  return `0.0.0.0_${port}/${route}`;
}

/** Changes whenever a Gateway or a VirtualService bound to a gateway does (the gateway proxies' inputs beyond the shared snapshot). */
export function gatewayFingerprint(resources: readonly IstioResource[]): string {
  let text = '';
  for (const r of resources) {
    const gwBound = r.kind === 'VirtualService' && ((r.spec as { gateways?: string[] }).gateways ?? []).some((g) => g !== 'mesh');
    if (r.kind === 'Gateway' || gwBound) text += `${r.kind}\0${r.metadata.namespace}\0${r.metadata.name}\0${JSON.stringify(r.spec)}\n`;
  }
  return text;
}

/** The proxy inputs gateway output depends on: which Gateways select it, and its labels and namespace (sourceLabels matches). */
export function gatewayGroupKey(resources: readonly IstioResource[], proxy: Proxy): string {
  return `gw|${JSON.stringify(gatewaysFor(resources, proxy).map(gatewayKey))}|${JSON.stringify(proxy.namespace)}|${JSON.stringify(Object.entries(proxy.labels).sort())}`;
}
