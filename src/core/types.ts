/**
 * The engine's contract with its adapters (HTTP now, gRPC next). `core/` is pure TypeScript and
 * does no I/O: adapters describe a request, the engine decides (route, endpoint, fault, retry,
 * admission) synchronously from an immutable compiled snapshot, adapters do the I/O and report
 * outcomes back. Decisions use counters, not promise wrappers, so the hot path stays cheap.
 */
import type { Disposable } from '../internal/events.js';
import type { TransportModel } from './model/transport.js';

/** Envoy response flags (access-log `%RESPONSE_FLAGS%`), recorded per request. */
export type ResponseFlag =
  | 'UH' // no healthy upstream host
  | 'UF' // upstream connection failure
  | 'UO' // upstream overflow (circuit breaker)
  | 'NR' // no route configured
  | 'URX' // upstream retry limit exceeded (retries or budget exhausted)
  | 'UT' // upstream request timeout
  | 'UC' // upstream connection termination
  | 'UR' // upstream remote reset
  | 'DI' // request delayed by fault injection
  | 'FI' // request aborted by fault injection
  | 'LR' // connection local reset
  | 'DC' // downstream connection termination (caller aborted)
  | 'RBAC'; // denied by an RBAC (AuthorizationPolicy) filter

/** What the engine needs to know about a request; header names lower case. */
export interface RequestInfo {
  method: string;
  /** Path with query string, as sent (`/reviews/1?x=y`). */
  path: string;
  /** Host name as the caller wrote it (`reviews`, `reviews.default`, FQDN, ServiceEntry host), no port. */
  host: string;
  /** Destination port; the scheme default (80/443) when the URL has none. */
  port: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Remote address of the original caller, for source-IP hashing; the mesh's own address when outbound. */
  sourceIp?: string;
  /**
   * Route through this listener (by LDS name) instead of the one `host:port` resolves to, the
   * virtual host chosen by `host` alone: how a gateway routes a request it received. An unknown
   * name is no route (never passthrough).
   */
  listener?: string;
}

/** An endpoint chosen for one attempt. Identity is `${address}:${port}`. */
export interface UpstreamEndpoint {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly locality: { readonly region: string; readonly zone: string; readonly subZone: string };
  /** TLS or plaintext to this endpoint (unset: plaintext); see core/model/transport.ts. */
  readonly transport?: TransportModel;
}

/** A held breaker or retry-budget slot: `release()` frees it (once, however often it is called). */
export interface HeldSlot {
  release(): void;
}

/** How one attempt ended, reported back for outlier detection, least-request and retries. */
export type AttemptOutcome =
  /** `grpcStatus`: a gRPC upstream's answer (`status` is then its HTTP equivalent, for outlier detection). */
  | { kind: 'response'; status: number; grpcStatus?: number }
  | { kind: 'connect-failure' } // never reached the upstream (refused, DNS, connect timeout)
  | { kind: 'reset'; beforeRequestSent: boolean } // connection reset / refused-stream
  /** `grpcStatus`: DEADLINE_EXCEEDED, when a gRPC attempt timed out (so `deadline-exceeded` covers it). */
  | { kind: 'timeout'; grpcStatus?: number }; // per-try or overall timeout

export interface RetryPlan {
  /** Envoy retry_on conditions (5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream, retriable-status-codes, …). */
  readonly retryOn: ReadonlySet<string>;
  readonly numRetries: number;
  readonly perTryTimeoutMs?: number;
  readonly retriableStatusCodes: ReadonlySet<number>;
  /** Non-idempotent methods are retried only on conditions that prove the app never saw the request, unless the route opts in. */
  readonly retryNonIdempotent: boolean;
  /**
   * Envoy's hedge_policy.hedge_on_per_try_timeout: a per-try timeout does not cancel the
   * attempt; another starts beside it and the first usable response wins.
   */
  readonly hedgeOnPerTryTimeout: boolean;
  /** Whether this request is duplicated at a per-try timeout: hedging is on and the request is idempotent (see {@link isIdempotent}). */
  hedges(idempotent: boolean): boolean;
  /** Jittered exponential backoff delay before retry number `n` (1-based), per Envoy: random in [0, min(base·2^(n-1), max)]. */
  backoffMs(n: number, random: () => number): number;
  /**
   * Should this outcome be retried (ignores budget; see CallPlan.admitRetry)? `idempotent`: the
   * request may be resent after the upstream saw it (HTTP: by method; gRPC calls: always).
   */
  shouldRetry(outcome: AttemptOutcome, idempotent: boolean): boolean;
}

export interface HeaderMutation {
  /** Applied in order. */
  readonly set: ReadonlyArray<{ name: string; value: string; action: 'append' | 'add_if_absent' | 'overwrite' | 'overwrite_if_exists' }>;
  readonly remove: readonly string[];
}

/** Everything an adapter needs to run one routed request. Built per request by the engine. */
export interface CallPlan {
  readonly routeName: string;
  readonly clusterName: string;
  /** The fault rolled for this request (dice already thrown). */
  readonly fault?: { readonly delayMs?: number; readonly abortStatus?: number; readonly abortGrpcStatus?: number };
  /** Overall deadline; undefined = none. */
  readonly timeoutMs?: number;
  /**
   * Added: max_stream_duration (route, else listener) in ms, for gRPC adapters, which use it
   * instead of the route timeout (as grpc-js-xds does). Undefined = none.
   */
  readonly maxStreamDurationMs?: number;
  readonly retry?: RetryPlan;
  readonly requestHeaders: HeaderMutation;
  readonly responseHeaders: HeaderMutation;
  /** New path (prefix/regex rewrite applied) or undefined to keep it. */
  readonly rewritePath?: string;
  /** New authority/Host or undefined. */
  readonly rewriteHost?: string;
  /** Clusters to mirror to (fraction already rolled); fire-and-forget. */
  readonly mirrors: readonly string[];
  /**
   * A `set-cookie` value the response must carry: a cookie hash policy with a ttl generated the
   * cookie this request was hashed by (Envoy's generateCookie). Undefined for nearly every call.
   */
  readonly setCookie?: string;
  /** The cluster's max_requests_per_connection (Istio `maxRequestsPerConnection`); undefined: unlimited. */
  readonly maxRequestsPerConnection?: number | undefined;
  /** The cluster speaks HTTP/2 upstream (GRPC / HTTP2 ports: Envoy's http2_protocol_options). */
  readonly http2?: boolean;
  /** Admission through the cluster's circuit breaker (max requests / pending). */
  admit(): ({ ok: true } & HeldSlot) | { ok: false; flag: 'UO' };
  /** A retry may start: max_retries breaker and, when the cluster has one, the retry budget. Returns a release for the retry slot. */
  admitRetry(): ({ ok: true } & HeldSlot) | { ok: false; flag: 'URX' | 'UO' };
  /** Endpoint for an attempt; `tried` are previous attempts' endpoints (retry_host_predicate previous_hosts). Undefined → UH. */
  pick(tried?: readonly UpstreamEndpoint[]): UpstreamEndpoint | undefined;
  /** Must be called once per attempt that got an endpoint: least-request counters and outlier detection. */
  startAttempt(endpoint: UpstreamEndpoint): void;
  endAttempt(endpoint: UpstreamEndpoint, outcome: AttemptOutcome): void;
}

export type RouteResult =
  /** The host is not in the mesh: send it as is (or refuse in strict mode). */
  | { readonly kind: 'passthrough' }
  /** The host is in the mesh but no route matched: 404 with flag NR (Envoy). */
  | { readonly kind: 'no_route' }
  | { readonly kind: 'direct'; readonly status: number; readonly body?: string; readonly responseHeaders: HeaderMutation }
  | { readonly kind: 'redirect'; readonly status: number; readonly location: string }
  | { readonly kind: 'forward'; readonly plan: CallPlan };

/** The engine an adapter talks to. */
export interface Engine {
  /** Synchronous routing decision from the current compiled snapshot. */
  route(request: RequestInfo): RouteResult;
  /** Picks an endpoint of a cluster by name (mirrors use this). */
  pickFrom(clusterName: string): UpstreamEndpoint | undefined;
  /**
   * Admits one proxied TCP connection to a cluster and picks its endpoint (a gateway's TLS
   * passthrough and TCP servers; see core/tcp-plan.ts). Engines from `createEngine` have it.
   */
  connect?(cluster: string, sourceIp?: string): import('./tcp-plan.js').TcpConnectResult;
  /** Whether a host (as the caller wrote it) belongs to the mesh. */
  knowsHost(host: string, port: number): boolean;
  /** Fires after each new compiled snapshot. */
  onUpdate(fn: () => void): Disposable;
  /** Current snapshot version (for diagnostics). */
  readonly version: number;
}
