/**
 * Host semantics of Istio's Gateway binding: which Gateways select a proxy, which
 * VirtualServices bind to a Gateway, and which virtual hosts a Gateway server and a
 * VirtualService have in common. Followed: istio/istio `pkg/config/host/names.go`
 * (`NamesForNamespace`, `Names.Intersection`, `Name.SubsetOf`), `pilot/pkg/model/gateway.go`
 * (`./host` means the Gateway's own namespace), `pilot/pkg/model/push_context.go`
 * (`VirtualServicesForGateway`: `gateways` entries resolved in the VirtualService's namespace).
 */
import type { Gateway, GatewayServer, IstioResource, VirtualService } from '../../config/types.js';
import { labelsMatch, type Proxy } from '../proxy.js';
import { resolveHost } from './names.js';

/** `<namespace>/<name>` of a Gateway. */
export const gatewayKey = (gw: Gateway): string => `${gw.metadata.namespace}/${gw.metadata.name}`;

/**
 * The Gateways whose `selector` selects the proxy (every selector label with the same value;
 * a Gateway without a selector selects every gateway proxy, as in Istio), by namespace/name.
 *
 * @example
 * ```ts
 * gatewaysFor(resources, { kind: 'gateway', labels: { istio: 'ingressgateway' }, ... }); // [bookinfo-gateway]
 * ```
 */
export function gatewaysFor(resources: readonly IstioResource[], proxy: Proxy): Gateway[] {
  const out: Gateway[] = [];
  for (const r of resources) if (r.kind === 'Gateway' && labelsMatch(proxy.labels, (r as Gateway).spec.selector ?? {})) out.push(r as Gateway);
  return out.sort((a, b) => (gatewayKey(a) < gatewayKey(b) ? -1 : gatewayKey(a) > gatewayKey(b) ? 1 : 0));
}

/** The gateways a VirtualService binds to, as `<namespace>/<name>` (`mesh` kept as is). */
export function boundGateways(vs: VirtualService): string[] {
  return (vs.spec.gateways ?? []).map((g) => (g === 'mesh' || g.includes('/') ? g : `${vs.metadata.namespace}/${g}`));
}

/** The VirtualServices bound to Gateway `key`, in namespace/name order. */
export function virtualServicesForGateway(resources: readonly IstioResource[], key: string): VirtualService[] {
  const out: VirtualService[] = [];
  for (const r of resources) if (r.kind === 'VirtualService' && boundGateways(r as VirtualService).includes(key)) out.push(r as VirtualService);
  const k = (v: VirtualService): string => `${v.metadata.namespace}/${v.metadata.name}`;
  return out.sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

/**
 * Istio `Name.SubsetOf`: is every host `a` covers also covered by `b`? `*` covers all,
 * `*.foo.com` covers its subdomains (and narrower wildcards); a wildcard is never a subset of
 * a literal host.
 */
export function hostSubsetOf(a: string, b: string): boolean {
  if (a === b || b === '*') return true;
  if (a === '*') return false;
  if (b.startsWith('*.')) return a.endsWith(b.slice(1)) && a.length > b.length - 1;
  return false;
}

/**
 * A server's hosts as seen from a VirtualService in `namespace` (Istio `NamesForNamespace`):
 * `ns/host` entries for another namespace are dropped, `*` and `.` (the Gateway's namespace,
 * `gatewayNamespace`) qualify, `~` qualifies nobody.
 */
export function serverHostsFor(server: GatewayServer, namespace: string, gatewayNamespace: string): string[] {
  const out: string[] = [];
  for (const h of server.hosts) {
    const slash = h.indexOf('/');
    if (slash < 0) {
      out.push(h.toLowerCase());
      continue;
    }
    const ns = h.slice(0, slash);
    if (ns === '*' || ns === namespace || (ns === '.' && namespace === gatewayNamespace)) out.push(h.slice(slash + 1).toLowerCase());
  }
  return out;
}

/** The hosts of a server without their namespace part (what SNI and redirects match). */
export function serverHostnames(server: GatewayServer): string[] {
  return [...new Set(server.hosts.map((h) => h.slice(h.indexOf('/') + 1).toLowerCase()))];
}

/**
 * Istio `Names.Intersection` of server hosts and VirtualService hosts: for each pair where one
 * covers the other, the narrower one; VirtualService short names resolve in its namespace.
 *
 * @example
 * ```ts
 * intersectHosts(['*.example.com'], ['a.example.com', 'other.org']); // ['a.example.com']
 * ```
 */
export function intersectHosts(serverHosts: readonly string[], vsHosts: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of serverHosts) {
    for (const v of vsHosts) {
      const pick = hostSubsetOf(s, v) ? s : hostSubsetOf(v, s) ? v : undefined;
      if (pick !== undefined && !out.includes(pick)) out.push(pick);
    }
  }
  return out;
}

/** A VirtualService's hosts, short names resolved in its namespace (Istio resolves them before gateway matching). */
export function resolvedVsHosts(vs: VirtualService, domainSuffix: string): string[] {
  return (vs.spec.hosts ?? []).map((h) => resolveHost(h.toLowerCase(), vs.metadata.namespace, domainSuffix));
}
