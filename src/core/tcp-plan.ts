/**
 * One proxied TCP connection's use of a cluster (Envoy's tcp_proxy on the cluster manager):
 * admission against the cluster's `max_connections` (Istio `connectionPool.tcp.maxConnections`,
 * overflow `UO`), an endpoint from the same load plan HTTP uses (subsets are clusters, outlier
 * ejection and EDS health leave hosts out; no host is `UH`), then the connect outcome fed back
 * to outlier detection (a failed connect counts as a gateway error, as Envoy does without
 * `split_external_local_origin_errors`) and the host's active count held for the connection's
 * life (least-request balancing counts connections on a TCP cluster).
 */
import type { ClusterRuntime } from './cluster.js';
import { xxh64 } from './xxhash.js';
import type { UpstreamEndpoint } from './types.js';

/** A connection admitted to a cluster with its endpoint; exactly one of `connected`/`failed`, then `closed`. */
export interface TcpConnection {
  readonly ok: true;
  readonly cluster: string;
  readonly endpoint: UpstreamEndpoint;
  /** The cluster's connect_timeout. */
  readonly connectTimeoutMs: number;
  /** The upstream connection is up: resets the host's consecutive failures. */
  connected(): void;
  /** The connect failed (refused, reset, timed out): outlier detection counts it. */
  failed(): void;
  /** The proxied connection is over: frees the admission and the host's active count (idempotent). */
  closed(): void;
}

export type TcpConnectResult = TcpConnection | { readonly ok: false; readonly cluster: string; readonly flag: 'UH' | 'UO' };

/** Envoy's default cluster connect_timeout when the cluster is not known from CDS. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

class Admitted implements TcpConnection {
  readonly ok = true;
  private state: 'connecting' | 'open' | 'done' = 'connecting';

  constructor(private readonly rt: ClusterRuntime, readonly endpoint: UpstreamEndpoint) {
    rt.state.counters.active++;
    rt.startAttempt(endpoint);
  }

  get cluster(): string {
    return this.rt.name;
  }

  get connectTimeoutMs(): number {
    return this.rt.model?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  }

  connected(): void {
    if (this.state !== 'connecting') return;
    this.state = 'open';
    // endAttempt drops the active count the attempt took; the connection keeps one until it closes.
    this.rt.endAttempt(this.endpoint, { kind: 'response', status: 200 });
    this.rt.startAttempt(this.endpoint);
  }

  failed(): void {
    if (this.state !== 'connecting') return;
    this.state = 'done';
    this.rt.endAttempt(this.endpoint, { kind: 'connect-failure' });
    this.rt.state.counters.active--;
  }

  closed(): void {
    if (this.state === 'done') return;
    this.state = 'done';
    const h = this.rt.hostOf(this.endpoint);
    if (h && h.active > 0) h.active--;
    this.rt.state.counters.active--;
  }
}

/**
 * Admits a connection to `rt` and picks its endpoint. `sourceIp`: hash by it (tcp_proxy
 * `hash_policy` source_ip) for consistent-hash clusters.
 *
 * @example
 * ```ts
 * const c = tcpConnect(snapshot.clusters.get('outbound|443||nginx.example.com'), undefined);
 * if (c.ok) net.connect(c.endpoint.port, c.endpoint.address).once('connect', () => c.connected());
 * ```
 */
export function tcpConnect(name: string, rt: ClusterRuntime | undefined, sourceIp: string | undefined): TcpConnectResult {
  if (!rt) return { ok: false, cluster: name, flag: 'UH' };
  const counters = rt.state.counters;
  if (counters.active >= counters.limits.maxConnections) {
    counters.overflows++;
    return { ok: false, cluster: name, flag: 'UO' };
  }
  const host = rt.pick(rt.hashed && sourceIp !== undefined ? xxh64(sourceIp) : undefined);
  if (!host) return { ok: false, cluster: name, flag: 'UH' };
  return new Admitted(rt, host);
}
