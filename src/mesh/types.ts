/** Public types of `createMesh()`. */
import type { MeshGrpc } from '../grpc/mesh-grpc.js';
import type { fetch as undiciFetch } from 'undici';
import type { Engine } from '../core/types.js';
import type { CallObserver } from '../core/observer.js';
import type { MeshDispatcher } from '../http/dispatcher.js';
import type { ListenHandle, ListenOptions, ListenTarget } from '../http/inbound.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InboundContext, InboundDenial, InboundHook } from '../http/pipeline.js';
import type { RequestRecord } from '../telemetry/record.js';
import type { XdsClient } from '../xds/ads-client.js';
import type { BackoffOptions } from '../xds/backoff.js';
import type { InboundPolicy } from '../security/inbound-policy.js';
import type { Disposable } from '../internal/events.js';

/**
 * Options of `createMesh()`.
 *
 * @example
 * ```ts
 * const mesh = await createMesh({ controlPlane: 'istiod.local:15010', service: 'reviews', labels: { version: 'v2' }, strict: true });
 * ```
 */
export interface MeshOptions {
  /**
   * `host:port` of the control server's xDS port, or several servers in priority order
   * (`['a:15010', 'b:15010', 'c:15010']`, control servers sharing one etcd): the mesh moves to
   * the next when its stream fails, keeps serving its cached config meanwhile, and returns to
   * the first once it is back (gRFC A71). Default env `MESHLET_CONTROL_PLANE` (a comma list for
   * several), else `127.0.0.1:15010`.
   */
  controlPlane?: string | readonly string[];
  /** The service this process serves as (needed for `listen()` to register an endpoint). */
  service?: string;
  /** Default `default`. */
  namespace?: string;
  labels?: Record<string, string>;
  serviceAccount?: string;
  /** `region/zone/subzone`. */
  locality?: string;
  /** Address announced for `listen()`ed ports (and the default listen interface). Default `127.0.0.1`. */
  address?: string;
  /** Reject requests to hosts the mesh does not know (MESHLET_ERR_UNKNOWN_HOST) instead of passing them through. */
  strict?: boolean;
  /** How long `createMesh()` waits for the first full config (LDS+CDS and the RDS/EDS they name). Default 5000. */
  initialFetchTimeoutMs?: number;
  /** How long `close()` waits for inbound requests in flight before destroying them. Default 5000. */
  drainTimeoutMs?: number;
  /** Reconnect backoff of the xDS stream. */
  xdsBackoff?: BackoffOptions;
  /**
   * Incremental xDS (`DeltaAggregatedResources`): after the first config, a change sends only the
   * resources that changed, and a reconnect only what the client does not already hold; a control
   * plane that answers UNIMPLEMENTED is spoken to in state of the world instead. Default true, as
   * Istio's proxies since 1.22 (`ISTIO_DELTA_XDS=true`); `false` or env `MESHLET_XDS_DELTA=false`
   * for state of the world only.
   */
  xdsDelta?: boolean;
  /** Cluster DNS suffix. Default `cluster.local`. */
  domainSuffix?: string;
  /** xDS node id; default `<service>-<pid>-<random>.<namespace>`. */
  nodeId?: string;
  /** Randomness for routing decisions and retry jitter (tests pass a seeded one). */
  random?: () => number;
  /**
   * Time source of the call engine (`meshlet-node/testing`'s ManualClock steps it): HTTP route and
   * per-try timeouts, retry backoff, HTTP fault delays, outlier ejection and circuit-breaker
   * bookkeeping read and arm timers through it. Default: the system clock.
   */
  clock?: import('../internal/clock.js').Clock;
  /** Aborting it while `createMesh()` waits for the first config rejects with the signal's reason and closes the mesh. */
  signal?: AbortSignal;
  /**
   * Serve Istio's standard metrics in Prometheus text format at `GET /stats/prometheus` on this
   * port of `address` (0 picks a free one; see `mesh.metricsPort`). The port is announced to the
   * control server, whose admin `GET /prometheus/targets` lists it for Prometheus `http_sd_configs`.
   * Default: off (no metrics are recorded).
   */
  metricsPort?: number;
  /** Telemetry switches. */
  telemetry?: MeshTelemetryOptions;
  /**
   * Join token (`meshlet token create`), or a function that reads it; default env
   * `MESHLET_TOKEN`, else the file `MESHLET_TOKEN_FILE`. With one, `controlPlane` is the
   * control server's secure port (15012): the mesh gets the token's SPIFFE identity, ADS runs
   * over mTLS, and its connections are mTLS as the mesh config says. Without: no identity, plaintext.
   */
  token?: string | (() => string | Promise<string>);
  /** Requested SVID lifetime in seconds (default: the CA's, 24 h); rotation runs at ~50% of it. */
  identityTtlSeconds?: number;
  /**
   * mTLS mode of each inbound port (PeerAuthentication's STRICT / PERMISSIVE / DISABLE, resolved
   * for this workload). Default PERMISSIVE, Istio's default. Ignored without an identity.
   */
  inboundTlsMode?: (port: number) => 'STRICT' | 'PERMISSIVE' | 'DISABLE';
}

/**
 * Telemetry options of `createMesh()`.
 *
 * @example
 * ```ts
 * // With @opentelemetry/sdk-node started first (its MeterProvider is the global one):
 * const mesh = await createMesh({ service: 'reviews', telemetry: { otel: true } });
 * ```
 */
export interface MeshTelemetryOptions {
  /**
   * Record Istio's standard metrics through the OpenTelemetry metrics API as well
   * (`@opentelemetry/api`, an optional peer dependency, loaded only then): `true` uses the
   * global MeterProvider (`metrics.getMeter('meshlet')`), or pass a MeterProvider. Works with or
   * without `metricsPort`.
   */
  otel?: boolean | { getMeter(name: string, version?: string): unknown };
  /**
   * Traces: a server span per inbound request and a client span per outbound call (attempts as
   * child spans when retried or hedged), through `@opentelemetry/api` (an optional peer
   * dependency). Default `'auto'`: the API is loaded if installed, and spans are recorded while
   * an SDK is registered (start `@opentelemetry/sdk-node` before `createMesh`); with none,
   * tracing costs nothing measurable. `false`: never. `{ tracerProvider }`: record with that
   * provider (the API must be installed). W3C `traceparent`/`tracestate` are sent; W3C and B3
   * are accepted; a handler's own `mesh.fetch`/gRPC calls continue its request's trace without
   * copying headers. Sampling follows the control plane's Telemetry resource
   * (`tracing[].randomSamplingPercentage`) and the caller's sampled flag.
   */
  tracing?: 'auto' | boolean | { tracerProvider: { getTracer(name: string, version?: string): unknown } };
  /**
   * Access logs (Envoy-like JSON lines, Istio's default JSON fields), inbound and outbound.
   * `true`: every request to stdout; `{ sink, filter }`: a sink (`'stdout'` or a function) and a
   * CEL filter such as `response.code >= 400`; `false`: never, whatever the control plane says.
   * Unset: the control plane's Telemetry `accessLogging` switches them on (to stdout) and filters.
   */
  accessLog?: import('../telemetry/access-log.js').AccessLogOption;
  /**
   * Generate and propagate `x-request-id` (UUID v4 when the caller sent none; a handler's calls
   * carry the inbound request's id) even when neither tracing records nor access logs are on
   * (then it is done anyway). Default false.
   */
  requestId?: boolean;
}

/**
 * Options of `mesh.close()`.
 *
 * @example
 * ```ts
 * await mesh.close({ signal: AbortSignal.timeout(1000) }); // drain for at most a second
 * ```
 */
export interface CloseOptions {
  /** Aborting it ends the drain at once: requests still in flight are destroyed, pools closed. */
  signal?: AbortSignal;
}

/**
 * Events of a mesh; subscribe with `mesh.on(name, fn)` (returns a disposable).
 *
 * @example
 * ```ts
 * const sub = mesh.on('request', (r) => log.info(r));
 * sub.dispose();
 * ```
 */
export interface MeshEvents {
  /** An outbound request ended. */
  request: (record: RequestRecord) => void;
}

/**
 * The inbound pipeline's public face: add hooks, see what is in flight, run it from other frameworks.
 *
 * @example
 * ```ts
 * http.createServer((req, res) => mesh.inbound.handle(req, res, () => myFrameworkHandler(req, res)));
 * ```
 */
export interface MeshInbound {
  /** Adds an HTTP hook (run in order, after authentication and authorization); dispose to remove. */
  use(hook: InboundHook): Disposable;
  /**
   * The protocol-neutral inbound policy HTTP requests and gRPC calls both pass: a stage added
   * here sees every inbound request as an `InboundRequestView`, whatever the protocol.
   *
   * @example
   * ```ts
   * mesh.inbound.policy.use({ name: 'no-admin', onRequest: ({ view }) => (view.path.startsWith('/admin') ? { status: 403, body: 'RBAC: access denied' } : undefined) }, INBOUND_PHASE.authz);
   * ```
   */
  readonly policy: InboundPolicy;
  /**
   * The mTLS mode the control plane set for a served port (PeerAuthentication, from the port's
   * inbound listener), or undefined before it arrived or without a control plane's word.
   *
   * @example
   * ```ts
   * mesh.inbound.mtlsMode(9080); // 'STRICT' | 'PERMISSIVE' | 'DISABLE' | undefined
   * ```
   */
  mtlsMode(port: number): 'STRICT' | 'PERMISSIVE' | 'DISABLE' | undefined;
  /** Inbound requests in flight (entered the pipeline, response not closed). */
  readonly inFlight: number;
  /**
   * Runs a request through the pipeline, then `next()` unless a hook denied it; for frameworks
   * without an adapter. A request already seen (say via mesh.listen) goes straight to `next()`.
   */
  handle(req: IncomingMessage, res: ServerResponse, next: () => void, deny?: (denial: InboundDenial) => void): void;
  /** The request's pipeline context, if it went through the pipeline. */
  context(req: IncomingMessage): InboundContext | undefined;
  /** Runs the onResponse hooks now (once); otherwise they run when the response closes. */
  finish(req: IncomingMessage): void;
}

/**
 * A mesh client: outbound through `fetch`/`dispatcher`, inbound through `listen`.
 *
 * @example
 * ```ts
 * const mesh = await createMesh({ service: 'productpage' });
 * const res = await mesh.fetch('http://reviews:9080/reviews/1');
 * await mesh.close();
 * ```
 */
export interface Mesh {
  /** WHATWG fetch through the mesh (undici's fetch with `dispatcher: mesh.dispatcher`). */
  readonly fetch: typeof undiciFetch;
  /** The undici Dispatcher that routes through the mesh (`request`, `stream`, `fetch`, …). */
  readonly dispatcher: MeshDispatcher;
  /** The routing engine (read-only use: `route`, `knowsHost`, `onUpdate`, `version`). */
  readonly engine: Engine;
  /** The xDS client (diagnostics: `versions()`, `on('nack', …)`). */
  readonly xds: XdsClient;
  /** Inbound pipeline hooks (security and telemetry plug in here). */
  readonly inbound: MeshInbound;
  /**
   * The gRPC face of this mesh (created on first use): channel options, interceptors and
   * `client()` for `mesh:///host:port` targets, and `createServer()` / `wrapServer()`.
   */
  readonly grpc: MeshGrpc;
  /** Serves a handler/server/Express app/Fastify instance and registers it with the control server. */
  listen(target: ListenTarget, options: ListenOptions): Promise<ListenHandle>;
  /** Opt-in: makes undici's global dispatcher (and Node's global `fetch`) go through the mesh. Dispose to restore. */
  installGlobalDispatcher(): Disposable;
  on<E extends keyof MeshEvents>(event: E, fn: MeshEvents[E]): Disposable;
  /**
   * Registers a {@link CallObserver}: it sees every outbound HTTP request and gRPC call that
   * starts after this (start, each attempt, each attempt's end, the end). `mesh.on('request')`
   * is one such observer. Dispose to stop observing.
   *
   * @example
   * ```ts
   * const sub = mesh.observe({
   *   onStart: () => undefined,
   *   onAttempt: (_s, call, n, endpoint) => console.log(call.path, 'attempt', n, endpoint.key, endpoint.labels['version']),
   *   onEnd: (_s, call) => console.log(call.clusterName, call.status, call.flags.join(','), call.durationMs),
   * });
   * sub.dispose();
   * ```
   */
  observe<S>(observer: CallObserver<S>): Disposable;
  /**
   * This workload's SPIFFE ID (`spiffe://cluster.local/ns/default/sa/reviews`), from its join
   * token; undefined for a mesh without one.
   */
  readonly identity: string | undefined;
  /** Deregisters, drains inbound requests, closes the xDS stream and the connection pools. Idempotent. */
  close(options?: CloseOptions): Promise<void>;
  /**
   * Bound port of the Prometheus endpoint (`GET /stats/prometheus`); undefined unless
   * `createMesh({ metricsPort })` asked for one.
   *
   * @example
   * ```ts
   * const mesh = await createMesh({ service: 'reviews', metricsPort: 0 });
   * await fetch(`http://127.0.0.1:${mesh.metricsPort}/stats/prometheus`);
   * ```
   */
  readonly metricsPort: number | undefined;
}
