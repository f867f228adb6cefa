/**
 * LDS, TCP proxy listeners: a socket listener whose filter chains each end in
 * `envoy.filters.network.tcp_proxy` (a gateway's TLS PASSTHROUGH and TCP servers, as Istio's
 * `pilot/pkg/networking/core/gateway.go` builds them), optionally with the
 * `envoy.filters.listener.tls_inspector` listener filter that reads the ClientHello's SNI.
 * Validated as Envoy would (`filter_chain_manager_impl.cc`: no two chains with the same match;
 * `tcp_proxy.proto`'s rules: stat_prefix set, a cluster or weighted_clusters with weights ≥ 1);
 * every error carries its field path.
 */
import type { TcpChainModel, TcpClusterWeight, TcpListenerModel, TcpProxyModel } from '../../core/model/index.js';
import { decodeAny, durationMs } from './common.js';
import type { AnyProto, DurationProto } from './proto-types.js';

export const TCP_PROXY_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const TLS_INSPECTOR_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';

const MAX_CHAINS = 1024;
const MAX_NAMES = 1024;
const MAX_CLUSTERS = 256;
const MAX_WEIGHT_TOTAL = 0xffffffff;

interface TcpProxyProto {
  stat_prefix?: string;
  cluster_specifier?: string;
  cluster?: string;
  weighted_clusters?: { clusters?: Array<{ name?: string; weight?: number; metadata_match?: object }> };
  idle_timeout?: DurationProto;
  max_downstream_connection_duration?: DurationProto;
  hash_policy?: Array<{ policy_specifier?: string; source_ip?: object; filter_state?: object }>;
  tunneling_config?: object;
  on_demand?: object;
  metadata_match?: object;
  max_connect_attempts?: { value?: number };
}

interface ChainProto {
  name?: string;
  filter_chain_match?: {
    server_names?: string[];
    transport_protocol?: string;
    application_protocols?: string[];
    destination_port?: { value?: number };
    prefix_ranges?: unknown[];
    source_prefix_ranges?: unknown[];
    source_ports?: unknown[];
    direct_source_prefix_ranges?: unknown[];
    source_type?: string;
  };
  filters?: Array<{ name?: string; config_type?: string; typed_config?: AnyProto }>;
  transport_socket?: object;
}

/** The Listener fields a TCP proxy listener uses. */
export interface TcpListenerProto {
  name?: string;
  address?: { socket_address?: { address?: string; port_specifier?: string; port_value?: number } };
  listener_filters?: Array<{ name?: string; config_type?: string; typed_config?: AnyProto }>;
  filter_chains?: ChainProto[];
  default_filter_chain?: ChainProto;
  api_listener?: object;
}

/** Is this a socket listener whose chains are TCP proxies (rather than HTTP connection managers)? */
export function isTcpProxyListener(l: TcpListenerProto): boolean {
  const chains = l.filter_chains ?? [];
  return !l.api_listener && chains.length > 0 && chains.every((c) => (c.filters ?? []).some((f) => f.typed_config?.type_url === TCP_PROXY_TYPE_URL));
}

/** `*.example.com` or a DNS name, lower case (Envoy matches server names case-insensitively). */
function serverName(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length === 0 || v.length > 255) return undefined;
  const name = v.toLowerCase();
  const body = name.startsWith('*.') ? name.slice(2) : name;
  return /^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/.test(body) ? name : undefined;
}

function proxyModel(p: TcpProxyProto, path: string, errors: string[]): TcpProxyModel | undefined {
  const before = errors.length;
  const statPrefix = p.stat_prefix ?? '';
  if (statPrefix === '') errors.push(`${path}.stat_prefix: empty`);
  const clusters: TcpClusterWeight[] = [];
  if (p.cluster_specifier === 'cluster') {
    if (!p.cluster) errors.push(`${path}.cluster: empty`);
    else clusters.push({ name: p.cluster, weight: 1 });
  } else if (p.cluster_specifier === 'weighted_clusters') {
    const list = p.weighted_clusters?.clusters ?? [];
    if (list.length === 0) errors.push(`${path}.weighted_clusters.clusters: empty`);
    if (list.length > MAX_CLUSTERS) errors.push(`${path}.weighted_clusters.clusters: more than ${MAX_CLUSTERS}`);
    let total = 0;
    for (const [i, c] of list.slice(0, MAX_CLUSTERS).entries()) {
      const cp = `${path}.weighted_clusters.clusters[${i}]`;
      if (!c.name) errors.push(`${cp}.name: empty`);
      const w = c.weight ?? 0;
      if (!Number.isInteger(w) || w < 1) errors.push(`${cp}.weight: must be at least 1`);
      if (c.metadata_match) errors.push(`${cp}.metadata_match: not supported`);
      total += w;
      if (c.name && w >= 1) clusters.push({ name: c.name, weight: w });
    }
    if (total > MAX_WEIGHT_TOTAL) errors.push(`${path}.weighted_clusters: weights sum above 2^32-1`);
  } else errors.push(`${path}: ${p.cluster_specifier === undefined ? 'neither cluster nor weighted_clusters set' : `${p.cluster_specifier} is not supported`}`);
  for (const k of ['tunneling_config', 'on_demand', 'metadata_match'] as const) if (p[k]) errors.push(`${path}.${k}: not supported`);
  if (p.max_connect_attempts?.value !== undefined && p.max_connect_attempts.value < 1) errors.push(`${path}.max_connect_attempts: must be at least 1`);
  let hashSourceIp = false;
  for (const [i, h] of (p.hash_policy ?? []).entries()) {
    if (i > 0) errors.push(`${path}.hash_policy: at most one entry`);
    else if (h.policy_specifier === 'source_ip') hashSourceIp = true;
    else errors.push(`${path}.hash_policy[${i}]: ${h.policy_specifier ?? 'unset'} is not supported (source_ip is)`);
  }
  const idleTimeoutMs = durationMs(p.idle_timeout, `${path}.idle_timeout`, errors);
  const maxConnectionDurationMs = durationMs(p.max_downstream_connection_duration, `${path}.max_downstream_connection_duration`, errors);
  if (errors.length > before) return undefined;
  return {
    statPrefix,
    clusters,
    hashSourceIp,
    ...(idleTimeoutMs !== undefined ? { idleTimeoutMs } : {}),
    ...(maxConnectionDurationMs !== undefined && maxConnectionDurationMs > 0 ? { maxConnectionDurationMs } : {}),
  };
}

function chainModel(c: ChainProto, path: string, errors: string[]): TcpChainModel | undefined {
  const before = errors.length;
  const m = c.filter_chain_match ?? {};
  for (const k of ['prefix_ranges', 'source_prefix_ranges', 'source_ports', 'direct_source_prefix_ranges'] as const) {
    if ((m[k]?.length ?? 0) > 0) errors.push(`${path}.filter_chain_match.${k}: not supported`);
  }
  if (m.source_type !== undefined && m.source_type !== 'ANY') errors.push(`${path}.filter_chain_match.source_type: not supported`);
  if (m.destination_port !== undefined) errors.push(`${path}.filter_chain_match.destination_port: not supported (one port per listener)`);
  const names = m.server_names ?? [];
  if (names.length > MAX_NAMES) errors.push(`${path}.filter_chain_match.server_names: more than ${MAX_NAMES}`);
  const serverNames: string[] = [];
  for (const [i, n] of names.slice(0, MAX_NAMES).entries()) {
    const v = serverName(n);
    if (v === undefined) errors.push(`${path}.filter_chain_match.server_names[${i}]: ${JSON.stringify(n)} is not a host name or *.suffix wildcard`);
    else if (serverNames.includes(v)) errors.push(`${path}.filter_chain_match.server_names[${i}]: duplicate ${v}`);
    else serverNames.push(v);
  }
  const tp = m.transport_protocol ?? '';
  if (tp !== '' && tp !== 'tls' && tp !== 'raw_buffer') errors.push(`${path}.filter_chain_match.transport_protocol: unknown protocol ${tp}`);
  const applicationProtocols = (m.application_protocols ?? []).slice(0, MAX_NAMES);
  if (c.transport_socket) errors.push(`${path}.transport_socket: TLS termination on a TCP proxy chain is not supported`);
  const filters = c.filters ?? [];
  let proxy: TcpProxyModel | undefined;
  for (const [i, f] of filters.entries()) {
    const fp = `${path}.filters[${i}]`;
    if (f.config_type !== undefined && f.config_type !== 'typed_config') {
      errors.push(`${fp}.${f.config_type}: not supported (use typed_config)`);
      continue;
    }
    if (f.typed_config?.type_url !== TCP_PROXY_TYPE_URL) {
      errors.push(`${fp}: ${f.typed_config?.type_url ?? 'untyped'} is not supported (only ${TCP_PROXY_TYPE_URL})`);
      continue;
    }
    if (i !== filters.length - 1) errors.push(`${fp}: tcp_proxy is a terminal filter and must be last`);
    const p = decodeAny<TcpProxyProto>(f.typed_config, TCP_PROXY_TYPE_URL, `${fp}.typed_config`, errors);
    if (p) proxy = proxyModel(p, `${fp}.typed_config`, errors);
  }
  if (filters.length === 0) errors.push(`${path}.filters: empty`);
  if (errors.length > before || !proxy) return undefined;
  return { name: c.name ?? '', serverNames, transportProtocol: tp as TcpChainModel['transportProtocol'], applicationProtocols, proxy };
}

/** A stable key of what a chain matches (Envoy refuses two chains with the same one). */
function matchKey(c: TcpChainModel): string {
  return JSON.stringify([[...c.serverNames].sort(), c.transportProtocol, [...c.applicationProtocols].sort()]);
}

/**
 * Validates a TCP proxy listener (see {@link isTcpProxyListener}) into its model, pushing
 * every problem with its field path onto `errors`.
 *
 * @example
 * ```ts
 * const errors: string[] = [];
 * const tcp = tcpListenerModel(listener, errors); // { address: '0.0.0.0', port: 443, inspectTls: true, chains: [...] }
 * ```
 */
export function tcpListenerModel(l: TcpListenerProto, errors: string[]): TcpListenerModel | undefined {
  const before = errors.length;
  const sa = l.address?.socket_address;
  if (!sa) errors.push('address.socket_address: unset');
  const port = sa?.port_value ?? 0;
  if (sa && (sa.port_specifier !== 'port_value' || !Number.isInteger(port) || port < 1 || port > 65535)) errors.push('address.socket_address.port_value: not 1–65535');
  const address = sa?.address ?? '';
  if (sa && (address.length === 0 || address.length > 255)) errors.push('address.socket_address.address: empty');
  let inspectTls = false;
  for (const [i, f] of (l.listener_filters ?? []).entries()) {
    const url = f.typed_config?.type_url;
    if (url === TLS_INSPECTOR_TYPE_URL) inspectTls = true;
    else errors.push(`listener_filters[${i}]: ${url ?? f.name ?? 'untyped'} is not supported (only the tls_inspector)`);
  }
  if (l.default_filter_chain) errors.push('default_filter_chain: not supported');
  const list = l.filter_chains ?? [];
  if (list.length > MAX_CHAINS) errors.push(`filter_chains: more than ${MAX_CHAINS}`);
  const chains: TcpChainModel[] = [];
  const keys = new Map<string, number>();
  for (const [i, c] of list.slice(0, MAX_CHAINS).entries()) {
    const chain = chainModel(c, `filter_chains[${i}]`, errors);
    if (!chain) continue;
    if ((chain.serverNames.length > 0 || chain.transportProtocol === 'tls') && !inspectTls) {
      errors.push(`filter_chains[${i}].filter_chain_match: matches TLS fields but the listener has no tls_inspector`);
    }
    const key = matchKey(chain);
    const dup = keys.get(key);
    if (dup !== undefined) errors.push(`filter_chains[${i}]: the same filter_chain_match as filter_chains[${dup}]`);
    keys.set(key, i);
    chains.push(chain);
  }
  if (errors.length > before) return undefined;
  return { address, port, inspectTls, chains };
}
