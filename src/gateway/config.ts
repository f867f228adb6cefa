/**
 * The gateway's view of its listeners: each LDS listener carrying `meshlet.gateway` metadata
 * (control/translate/gateway.ts) describes one route configuration on one server port; here
 * they are grouped by port into what to bind. The metadata came over the wire, so every field
 * is checked and bounded; a listener that fails is skipped (and named in `problems`).
 */
import type { ListenerModel } from '../core/model/index.js';

/** Must match GATEWAY_METADATA in control/translate/gateway.ts (the data side imports nothing from control/). */
export const GATEWAY_METADATA = 'meshlet.gateway';

const TLS_VERSIONS = ['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/** TLS of one HTTPS server. */
export interface ServerTls {
  /** ISTIO_MUTUAL: the gateway's own SVID, a client certificate of the mesh trust bundle required. */
  mode: 'SIMPLE' | 'MUTUAL' | 'OPTIONAL_MUTUAL' | 'ISTIO_MUTUAL';
  serverCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  credentialName?: string;
  minProtocolVersion?: TlsVersion;
  maxProtocolVersion?: TlsVersion;
  cipherSuites?: string[];
  /** SANs one of which a client certificate must carry (`spiffe://…` against its URI SAN, else DNS). */
  subjectAltNames?: string[];
}

/** One route configuration served on a port (one Envoy filter chain). */
export interface GatewayRoute {
  /** The LDS listener name, passed to the engine to route through. */
  listener: string;
  route: string;
  hosts: string[];
  redirectHosts: string[];
  tls?: ServerTls;
}

/** One server port: what to bind and the routes it serves. */
export interface GatewayPort {
  port: number;
  protocol: 'HTTP' | 'HTTPS';
  bind?: string;
  routes: GatewayRoute[];
}

const MAX_HOSTS = 1024;
const MAX_STRING = 4096;

function str(v: unknown, path: string, problems: string[], optional = true): string | undefined {
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_STRING) {
    problems.push(`${path}: not a string of 1–${MAX_STRING} characters`);
    return undefined;
  }
  return v;
}

function strings(v: unknown, path: string, problems: string[]): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > MAX_HOSTS || v.some((h) => typeof h !== 'string' || h.length === 0 || h.length > 255)) {
    problems.push(`${path}: not a list of up to ${MAX_HOSTS} host names`);
    return [];
  }
  return (v as string[]).map((h) => h.toLowerCase());
}

function tlsOf(v: unknown, path: string, problems: string[]): ServerTls | undefined {
  if (typeof v !== 'object' || v === null) {
    problems.push(`${path}: missing (an HTTPS server needs tls settings)`);
    return undefined;
  }
  const t = v as Record<string, unknown>;
  const mode = t['mode'];
  if (mode !== 'SIMPLE' && mode !== 'MUTUAL' && mode !== 'OPTIONAL_MUTUAL' && mode !== 'ISTIO_MUTUAL') {
    problems.push(`${path}.mode: ${JSON.stringify(mode)} is not served (SIMPLE, MUTUAL, OPTIONAL_MUTUAL or ISTIO_MUTUAL)`);
    return undefined;
  }
  const out: ServerTls = { mode };
  for (const k of ['serverCertificate', 'privateKey', 'caCertificates', 'credentialName'] as const) {
    const s = str(t[k], `${path}.${k}`, problems);
    if (s !== undefined) out[k] = s;
  }
  for (const k of ['minProtocolVersion', 'maxProtocolVersion'] as const) {
    const s = t[k];
    if (s === undefined) continue;
    if (!TLS_VERSIONS.includes(s as TlsVersion)) problems.push(`${path}.${k}: unknown version ${JSON.stringify(s)}`);
    else out[k] = s as TlsVersion;
  }
  if (t['cipherSuites'] !== undefined) out.cipherSuites = strings(t['cipherSuites'], `${path}.cipherSuites`, problems).map((c) => c.toUpperCase());
  if (t['subjectAltNames'] !== undefined) {
    const sans = t['subjectAltNames'];
    if (!Array.isArray(sans) || sans.length > MAX_HOSTS || sans.some((n) => typeof n !== 'string' || n.length === 0 || n.length > MAX_STRING)) problems.push(`${path}.subjectAltNames: not a list of up to ${MAX_HOSTS} names`);
    else out.subjectAltNames = sans as string[];
  }
  // ISTIO_MUTUAL serves the gateway's own SVID: no certificate files.
  if (mode !== 'ISTIO_MUTUAL' && !out.credentialName && (!out.serverCertificate || !out.privateKey)) problems.push(`${path}: neither credentialName nor serverCertificate and privateKey`);
  return out;
}

/** One listener's description, or undefined (with problems) when it is not a usable gateway listener. */
export function gatewayRouteOf(l: ListenerModel, problems: string[]): (GatewayRoute & { port: number; protocol: 'HTTP' | 'HTTPS'; bind?: string }) | undefined {
  const meta = l.metadata?.[GATEWAY_METADATA] as Record<string, unknown> | undefined;
  if (!meta) return undefined;
  const before = problems.length;
  const p = `listener ${l.name}`;
  const port = meta['port'];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) problems.push(`${p}: port ${JSON.stringify(port)} is not 1–65535`);
  const protocol = meta['protocol'];
  if (protocol !== 'HTTP' && protocol !== 'HTTPS') problems.push(`${p}: protocol ${JSON.stringify(protocol)} is not HTTP or HTTPS`);
  const route = str(meta['route'], `${p}.route`, problems, false);
  const bind = str(meta['bind'], `${p}.bind`, problems);
  const hosts = strings(meta['hosts'], `${p}.hosts`, problems);
  const redirectHosts = strings(meta['redirectHosts'], `${p}.redirectHosts`, problems);
  const tls = protocol === 'HTTPS' ? tlsOf(meta['tls'], `${p}.tls`, problems) : undefined;
  if (problems.length > before || route === undefined) return undefined;
  const out = { listener: l.name, port: port as number, protocol: protocol as 'HTTP' | 'HTTPS', route, hosts, redirectHosts, ...(tls ? { tls } : {}) };
  return bind === undefined ? out : { ...out, bind };
}

/**
 * Groups gateway listeners by port, in port order; routes within a port by listener name.
 *
 * @example
 * ```ts
 * const { ports } = gatewayPorts(listeners.values());
 * ports[0]; // { port: 80, protocol: 'HTTP', routes: [{ listener: '0.0.0.0_80/http.80', route: 'http.80', ... }] }
 * ```
 */
export function gatewayPorts(listeners: Iterable<ListenerModel>): { ports: GatewayPort[]; problems: string[] } {
  const problems: string[] = [];
  const byPort = new Map<number, GatewayPort>();
  for (const l of listeners) {
    const r = gatewayRouteOf(l, problems);
    if (!r) continue;
    const { port, protocol, bind, ...route } = r;
    let entry = byPort.get(port);
    if (!entry) byPort.set(port, (entry = { port, protocol, routes: [], ...(bind !== undefined ? { bind } : {}) }));
    if (entry.protocol !== protocol) {
      problems.push(`listener ${l.name}: port ${port} is already ${entry.protocol}`);
      continue;
    }
    entry.routes.push(route);
  }
  const ports = [...byPort.values()].sort((a, b) => a.port - b.port);
  for (const p of ports) p.routes.sort((a, b) => (a.listener < b.listener ? -1 : a.listener > b.listener ? 1 : 0));
  return { ports, problems };
}

/** Does a server host pattern (`*`, `*.example.com`, `example.com`) cover `host`? */
export function hostCovered(pattern: string, host: string): boolean {
  if (pattern === '*' || pattern === host) return true;
  return pattern.startsWith('*.') && host.length > pattern.length - 1 && host.endsWith(pattern.slice(1));
}

/**
 * The route of a port that serves `name` (the SNI name, or the Host on a plain port): an exact
 * host beats the longest wildcard, then `*` (Envoy's filter chain match on server_names).
 */
export function routeForName(routes: readonly GatewayRoute[], name: string | undefined): GatewayRoute | undefined {
  if (routes.length === 1 || name === undefined) return routes.find((r) => r.hosts.includes('*')) ?? routes[0];
  let best: GatewayRoute | undefined;
  let bestLen = -1;
  for (const r of routes) {
    for (const h of r.hosts) {
      if (!hostCovered(h, name)) continue;
      const len = h === name ? Number.MAX_SAFE_INTEGER : h === '*' ? 0 : h.length;
      if (len > bestLen) {
        best = r;
        bestLen = len;
      }
    }
  }
  return best;
}
