/**
 * `MeshDispatcher`: an undici Dispatcher that routes every request through the engine. Use it
 * with `fetch`, `request`, `stream`, or install it globally (opt-in). Hosts the mesh does not
 * know pass through unchanged (or fail in strict mode); mesh hosts get Envoy's router semantics.
 */
import type { Clock } from '../internal/clock.js';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { Agent, Dispatcher } from 'undici';
import { meshError } from '../errors.js';
import type { Engine, RequestInfo, ResponseFlag, UpstreamEndpoint } from '../core/types.js';
import { CallObservers, observeEnd, observeStart, type ObservedCall, type ObserverList } from '../core/observer.js';
import { CallHandler, type CallContext } from './call-handler.js';
import { LOCAL_REPLY, secureOriginOf } from './upstream.js';
import { meshConnector, transportKey } from '../security/tls/connector.js';
import type { MeshTls } from '../security/tls/mesh-tls.js';
import type { TlsTransportModel } from '../core/model/transport.js';
import { localError, localReply, safely, toCurrentHandler, type DispatchController, type DispatchHandler } from './handler.js';
import { applyMutation, FLAGS_HEADER, isEmptyMutation, normalizeHeaders } from './headers.js';
import { channels } from '../telemetry/diagnostics.js';
import { DeadlineQueue } from '../internal/deadlines.js';
import { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER, type PeerMetadataHeaders } from '../telemetry/peer-metadata.js';
import { recordObserver, type RecordSink } from '../telemetry/record.js';

/**
 * Options of {@link MeshDispatcher} (createMesh builds one for you).
 *
 * @example
 * ```ts
 * const dispatcher = new MeshDispatcher({ engine, strict: true });
 * ```
 */
export interface MeshDispatcherOptions {
  engine: Engine;
  /** Reject hosts the mesh does not know (MESHLET_ERR_UNKNOWN_HOST) instead of passing them through. */
  strict?: boolean;
  /** Upstream connection pool; default a keep-alive `Agent` owned (and closed) by the dispatcher. */
  agent?: Dispatcher;
  /** Randomness for retry jitter (tests pass a seeded one). */
  random?: () => number;
  /** Clock of call deadlines, backoff and fault delays (tests inject a manual one). */
  clock?: Clock;
  /** The caller's own address, for source-IP hashing. */
  sourceIp?: string;
  /** The mesh's call observers (asked per request; none: nothing is observed). */
  observers?: CallObservers;
  /** A record sink, asked per request (undefined: nobody listens); joins `observers` as their `'request'` observer. */
  records?: () => RecordSink | undefined;
  /**
   * Why the mesh has no config, while it has none (undefined once it has): a host the mesh does
   * not know then fails with MESHLET_ERR_NO_CONFIG naming the control plane, not a bare ENOTFOUND.
   */
  noConfig?: () => string | undefined;
  /** The mesh's identity for mTLS upstreams (none: endpoints that need it fail with MESHLET_ERR_TLS_PEER). */
  tls?: MeshTls;
  /** Istio metadata exchange headers sent on every routed request (createMesh sets them when it reports metrics). */
  peerMetadata?: PeerMetadataHeaders;
}

interface ParsedOrigin {
  protocol: string;
  hostname: string;
  port: number;
  authority: string;
  /**
   * The TLS server name undici would derive from our Host header (the host name, none for an
   * IP). Computed once per origin: undici's own derivation runs net.isIP() per request (~1 µs).
   */
  servername: string | undefined;
}

const ORIGIN_CACHE_LIMIT = 1024;

/**
 * The mesh's undici dispatcher.
 *
 * @example
 * ```ts
 * import { request } from 'undici';
 * const { statusCode, body } = await request('http://reviews:9080/reviews/1', { dispatcher: mesh.dispatcher });
 * ```
 */
export class MeshDispatcher extends Dispatcher {
  private readonly engine: Engine;
  private readonly agent: Dispatcher;
  private readonly ownsAgent: boolean;
  private readonly strict: boolean;
  private readonly sourceIp: string | undefined;
  private readonly observers: CallObservers | undefined;
  private readonly noConfig: () => string | undefined;
  private readonly random: () => number;
  private readonly origins = new Map<string, ParsedOrigin>();
  private readonly ctx: CallContext;
  /** Pools of clusters with `maxRequestsPerConnection` (one per distinct limit; only if owned). */
  private readonly limitedPools = new Map<number, Dispatcher>();
  /** The pool of HTTP/2 clusters (h2c, or ALPN h2 over TLS); made on first use, only if owned. */
  private h2Agent: Dispatcher | undefined;
  private readonly tls: MeshTls | undefined;
  /** TLS transports by SNI (or address), for the connector: each cluster's settings, kept fresh by dispatchUpstream. */
  private readonly transports = new Map<string, TlsTransportModel>();
  private readonly connector: ReturnType<typeof meshConnector>;
  private readonly hasIdentity: boolean;
  private readonly peerMetadata: PeerMetadataHeaders | undefined;
  private closed = false;

  constructor(options: MeshDispatcherOptions) {
    super();
    this.engine = options.engine;
    this.ownsAgent = options.agent === undefined;
    this.hasIdentity = options.tls !== undefined;
    this.peerMetadata = options.peerMetadata;
    this.tls = options.tls;
    this.connector = meshConnector(options.tls, (key) => this.transports.get(key));
    this.agent = options.agent ?? new Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 60_000, connect: this.connector });
    this.strict = options.strict ?? false;
    this.sourceIp = options.sourceIp;
    const records = options.records;
    if (records) {
      const observers = options.observers ?? new CallObservers();
      observers.add(recordObserver((r) => records()?.(r)), () => records() !== undefined);
      this.observers = observers;
    } else this.observers = options.observers;
    this.noConfig = options.noConfig ?? (() => undefined);
    this.random = options.random ?? Math.random;
    this.ctx = { agent: this.agent, engine: this.engine, random: this.random, deadlines: new DeadlineQueue(), clock: options.clock, dispatchUpstream: (o, h, n, h2) => this.dispatchUpstream(o, h, n, h2) };
  }

  override dispatch(opts: Dispatcher.DispatchOptions, rawHandler: DispatchHandler): boolean {
    const handler = toCurrentHandler(rawHandler);
    if (this.closed) {
      localError(handler, meshError('MESHLET_ERR_CLOSED', 'mesh dispatcher used after close()'));
      return true;
    }
    if (channels.requestStart.hasSubscribers) {
      channels.requestStart.publish({ method: opts.method, origin: String(opts.origin ?? ''), path: opts.path });
    }
    try {
      return this.route(opts, handler, rawHandler);
    } catch (err) {
      localError(handler, err as Error);
      return true;
    }
  }

  private route(opts: Dispatcher.DispatchOptions, handler: DispatchHandler, rawHandler: DispatchHandler): boolean {
    const o = opts.origin === undefined ? undefined : this.parseOrigin(opts.origin);
    const sink = this.observers?.current();
    const method = opts.method ?? 'GET';
    const path = opts.path ?? '/';
    if (!o || o.protocol !== 'http:') return this.passthrough(opts, handler, rawHandler, sink, o, method, path);
    const headers = normalizeHeaders(opts.headers);
    const info: RequestInfo = { method, path, host: o.hostname, port: o.port, headers };
    if (this.sourceIp !== undefined) info.sourceIp = this.sourceIp;
    // Set by the gateway (src/gateway/forward.ts): the listener it received the request on, and
    // the downstream client's address (Envoy hashes `useSourceIp` on the connection's source).
    const via = (opts as { meshListener?: string }).meshListener;
    if (via !== undefined) info.listener = via;
    const source = (opts as { meshSourceIp?: string }).meshSourceIp;
    if (source !== undefined) info.sourceIp = source;
    const result = this.engine.route(info);
    switch (result.kind) {
      case 'passthrough':
        return this.passthrough(opts, handler, rawHandler, sink, o, method, path);
      case 'no_route':
        if (sink) observeLocal(sink, new LocalCall(method, o.hostname, path, 404, ['NR']));
        localReply(handler, 404, LOCAL_REPLY.noRoute, { [FLAGS_HEADER]: 'NR' });
        return true;
      case 'direct': {
        const out: IncomingHttpHeaders = {};
        if (!isEmptyMutation(result.responseHeaders)) applyMutation(out, result.responseHeaders);
        if (sink) observeLocal(sink, new LocalCall(method, o.hostname, path, result.status, []));
        localReply(handler, result.status, result.body, out);
        return true;
      }
      case 'redirect':
        if (sink) observeLocal(sink, new LocalCall(method, o.hostname, path, result.status, []));
        localReply(handler, result.status, undefined, { location: result.location });
        return true;
      case 'forward': {
        const { plan } = result;
        if (!isEmptyMutation(plan.requestHeaders)) applyMutation(headers, plan.requestHeaders);
        headers['host'] = plan.rewriteHost ?? o.authority;
        const mx = this.peerMetadata;
        if (mx) {
          // Set, not appended: a request passed on (a gateway's) carries its downstream's.
          headers[PEER_METADATA_HEADER] = mx.value;
          headers[PEER_METADATA_ID_HEADER] = mx.id;
        }
        const servername = plan.rewriteHost === undefined ? o.servername : undefined;
        const routed = { opts, method, host: o.hostname, path, upstreamPath: plan.rewritePath ?? path, headers, servername };
        new CallHandler(this.ctx, sink, routed, handler, plan).run();
        return true;
      }
    }
  }

  private passthrough(
    opts: Dispatcher.DispatchOptions, handler: DispatchHandler, rawHandler: DispatchHandler,
    sink: ObserverList | undefined, o: ParsedOrigin | undefined, method: string, path: string,
  ): boolean {
    const host = o?.hostname ?? String(opts.origin ?? '');
    const why = this.noConfig();
    if (this.strict) {
      if (sink) observeLocal(sink, new LocalCall(method, host, path, 0, []));
      localError(handler, meshError('MESHLET_ERR_UNKNOWN_HOST', `strict mesh: ${host} is not a mesh host (no service, ServiceEntry or route knows it)${why ? `; ${why}` : ''}`, { detail: { host, port: o?.port } }));
      return true;
    }
    const h = why === undefined ? handler : new NoConfigHandler(handler, host, why);
    if (!sink) return this.agent.dispatch(opts, why === undefined ? rawHandler : h);
    return this.agent.dispatch(opts, new RecordingHandler(h, sink, { method, host, path }));
  }

  /**
   * Sends upstream under a cluster's max_requests_per_connection (Envoy closes a connection
   * after that many requests): 1 marks the request `reset` (undici closes its socket after it,
   * a new connection per request); N > 1 goes through an Agent whose clients reconnect after N
   * (undici's maxRequestsPerClient lets N + 1 through, hence N − 1). An HTTP/2 cluster's
   * requests go through an HTTP/2 pool (streams on shared connections; the per-connection limit
   * is not applied to them). A user-supplied agent is used as it is.
   */
  private dispatchUpstream(opts: Dispatcher.DispatchOptions, handler: DispatchHandler, limit: number | undefined, http2?: boolean): void {
    const endpoint = (handler as { endpoint?: UpstreamEndpoint }).endpoint;
    const t = endpoint?.transport;
    // A mesh without an identity is a workload without a sidecar: it talks plaintext to mesh
    // mTLS endpoints (PERMISSIVE ones serve it, STRICT ones refuse it); TLS it can do (SIMPLE) it does.
    if (t?.kind === 'tls' && (this.hasIdentity || !t.identity)) this.secure(opts as Dispatcher.DispatchOptions & { servername?: string }, endpoint!, t);
    if (http2 === true && this.ownsAgent && !this.closed) {
      this.h2Agent ??= new Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 60_000, allowH2: true, connect: meshConnector(this.tls, (key) => this.transports.get(key), { http2: true }) });
      this.h2Agent.dispatch(opts, handler);
    } else if (limit === undefined || !this.ownsAgent || this.closed) {
      this.agent.dispatch(opts, handler);
    } else if (limit === 1) {
      this.agent.dispatch({ ...opts, reset: true }, handler);
    } else {
      let pool = this.limitedPools.get(limit);
      if (!pool) {
        pool = new Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 60_000, maxRequestsPerClient: limit - 1, connect: this.connector });
        this.limitedPools.set(limit, pool);
      }
      pool.dispatch(opts, handler);
    }
  }

  /**
   * Points an attempt at the endpoint's TLS origin, the cluster's SNI as server name (Istio's
   * `outbound_.port_.subset_.host`), and registers the transport for the connector under it.
   * `opts` is the attempt's own literal (upstreamOptions): assigning keys it has keeps its shape.
   */
  private secure(opts: Dispatcher.DispatchOptions & { servername?: string }, endpoint: UpstreamEndpoint, transport: TlsTransportModel): void {
    opts.origin = secureOriginOf(endpoint);
    opts.servername = transport.sni || undefined;
    const key = transportKey(transport.sni, endpoint.address, endpoint.port);
    if (this.transports.get(key) !== transport) {
      if (this.transports.size >= 4096) this.transports.clear();
      this.transports.set(key, transport);
    }
  }

  private parseOrigin(origin: string | URL): ParsedOrigin | undefined {
    const key = typeof origin === 'string' ? origin : origin.origin;
    let parsed = this.origins.get(key);
    if (parsed) return parsed;
    let url: URL;
    try {
      url = typeof origin === 'string' ? new URL(origin) : origin;
    } catch {
      return undefined;
    }
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    const hostname = (url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname).toLowerCase();
    parsed = { protocol: url.protocol, hostname, port, authority: url.host, servername: isIP(hostname) ? undefined : hostname };
    if (this.origins.size >= ORIGIN_CACHE_LIMIT) this.origins.clear();
    this.origins.set(key, parsed);
    return parsed;
  }

  private extraPools(): Dispatcher[] {
    return this.h2Agent ? [...this.limitedPools.values(), this.h2Agent] : [...this.limitedPools.values()];
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.closed = true;
    const p = this.ownsAgent ? Promise.all([this.agent.close(), ...this.extraPools().map((a) => a.close())]).then(() => {}) : Promise.resolve();
    if (!callback) return p;
    p.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(errOrCallback?: Error | null | (() => void), callback?: () => void): Promise<void> | void {
    this.closed = true;
    const err = typeof errOrCallback === 'function' ? null : errOrCallback ?? null;
    const cb = typeof errOrCallback === 'function' ? errOrCallback : callback;
    const p = this.ownsAgent ? Promise.all([this.agent.destroy(err), ...this.extraPools().map((a) => a.destroy(err))]).then(() => {}) : Promise.resolve();
    if (!cb) return p;
    p.then(cb, cb);
  }
}

/** A request answered by the mesh itself (no route, direct response, redirect, strict refusal), as observers see it. */
class LocalCall implements ObservedCall {
  readonly protocol = 'http';
  readonly routeName = '';
  readonly clusterName = '';
  readonly attempts = 0;
  readonly grpcStatus = undefined;
  readonly endpoint = undefined;
  readonly responseBytes = 0;
  readonly durationMs = 0;
  constructor(readonly method: string, readonly authority: string, readonly path: string, readonly status: number, readonly flags: ResponseFlag[]) {}
}

function observeLocal(list: ObserverList, call: ObservedCall): void {
  observeEnd(list, observeStart(list, call), call);
}

/** Connection failures that mean "this host is not reachable directly": DNS, refused. */
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'ECONNREFUSED']);

/**
 * Passthrough while the mesh has no config: a host that cannot be reached directly fails with
 * MESHLET_ERR_NO_CONFIG saying why the mesh does not know it (the original error is the cause).
 */
class NoConfigHandler implements DispatchHandler {
  constructor(private readonly h: DispatchHandler, private readonly host: string, private readonly why: string) {}
  onRequestStart(c: DispatchController, ctx: unknown): void { this.h.onRequestStart?.(c, ctx); }
  onRequestUpgrade(c: DispatchController, status: number, headers: IncomingHttpHeaders, socket: import('node:stream').Duplex): void { this.h.onRequestUpgrade?.(c, status, headers, socket); }
  onResponseStart(c: DispatchController, status: number, headers: IncomingHttpHeaders, msg?: string): void { this.h.onResponseStart?.(c, status, headers, msg); }
  onResponseData(c: DispatchController, chunk: Buffer): void { this.h.onResponseData?.(c, chunk); }
  onResponseEnd(c: DispatchController, trailers: IncomingHttpHeaders): void { this.h.onResponseEnd?.(c, trailers); }
  onResponseError(c: DispatchController, err: Error): void {
    const code = (err as { code?: string }).code ?? '';
    this.h.onResponseError?.(c, UNREACHABLE.has(code)
      ? meshError('MESHLET_ERR_NO_CONFIG', `${this.host} is not a mesh host and cannot be reached directly (${code}); ${this.why}`, { cause: err, detail: { host: this.host } })
      : err);
  }
}

/** Wraps a passthrough handler for the call's observers (the request is the observed call). */
class RecordingHandler implements DispatchHandler, ObservedCall {
  readonly protocol = 'http';
  readonly routeName = '';
  readonly clusterName = 'PassthroughCluster';
  readonly flags: ResponseFlag[] = [];
  readonly attempts = 1;
  readonly grpcStatus = undefined;
  readonly endpoint: UpstreamEndpoint | undefined = undefined;
  readonly method: string;
  readonly authority: string;
  readonly path: string;
  status = 0;
  responseBytes = 0;
  private readonly start = performance.now();
  private readonly observed: unknown;

  constructor(private readonly h: DispatchHandler, private readonly sink: ObserverList, req: { method: string; host: string; path: string }) {
    this.method = req.method;
    this.authority = req.host;
    this.path = req.path;
    this.observed = observeStart(sink, this);
  }

  get durationMs(): number {
    return performance.now() - this.start;
  }

  private emit(status: number): void {
    this.status = status;
    observeEnd(this.sink, this.observed, this);
  }

  onRequestStart(c: DispatchController, ctx: unknown): void {
    this.h.onRequestStart?.(c, ctx);
  }

  onRequestUpgrade(c: DispatchController, status: number, headers: IncomingHttpHeaders, socket: import('node:stream').Duplex): void {
    this.h.onRequestUpgrade?.(c, status, headers, socket);
  }

  onResponseStart(c: DispatchController, status: number, headers: IncomingHttpHeaders, msg?: string): void {
    this.status = status;
    this.h.onResponseStart?.(c, status, headers, msg);
  }

  onResponseData(c: DispatchController, chunk: Buffer): void {
    this.responseBytes += chunk.length;
    this.h.onResponseData?.(c, chunk);
  }

  onResponseEnd(c: DispatchController, trailers: IncomingHttpHeaders): void {
    safely(() => this.emit(this.status));
    this.h.onResponseEnd?.(c, trailers);
  }

  onResponseError(c: DispatchController, err: Error): void {
    safely(() => this.emit(0));
    this.h.onResponseError?.(c, err);
  }
}
