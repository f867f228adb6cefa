/**
 * Traces, `x-request-id` and access logs from the mesh's two seams, written once for both
 * protocols: outbound calls through the call observer (core/observer.ts), inbound requests
 * through an inbound policy stage that runs first (Envoy's HTTP connection manager does request
 * ids and tracing before any filter, so refused requests are traced and logged too).
 *
 * Envoy semantics followed (source/common/tracing/http_tracer_impl.cc, source/common/http/
 * conn_manager_utility.cc, docs/root/intro/arch_overview/observability/tracing.rst):
 * - `x-request-id`: kept when the caller sent one, else a UUID v4 is generated; the router
 *   forwards it, and here a handler's own calls carry the inbound request's id.
 * - Sampling: a caller's decision (W3C flags, B3 sampled) is respected; without one the
 *   listener's `tracing.random_sampling` (Istio's Telemetry `randomSamplingPercentage`) decides.
 * - One span per request on each side (server: inbound; client: outbound), operation
 *   `<host>:<port>/*` as Istio names it; each retry or hedge attempt a child of the client span.
 */
import { randomUUID } from 'node:crypto';
import type { Attributes } from '@opentelemetry/api';
import type { CallObserver, ObservedCall } from '../core/observer.js';
import type { AttemptOutcome, UpstreamEndpoint } from '../core/types.js';
import type { InboundCall, InboundOutcome, InboundStage } from '../security/inbound-policy.js';
import type { AccessLogEntry, AccessLogger } from './access-log.js';
import { currentScope, SCOPE_KEY, type CallScope } from './context.js';
import { flagsLabel } from './call-metrics.js';
import { extractTrace, formatTraceparent, randomId, type IncomingTrace } from './propagation.js';
import type { SpanParent, StartedSpan, Tracing } from './tracing.js';

/** Who this process is (names the inbound spans and clusters). */
export interface TelemetryWorkload {
  service: string;
  namespace: string;
  domainSuffix: string;
  /** This process's address (the inbound `upstream_host`). */
  address: string;
}

/** Sampling percentages in [0, 100] (Istio's Telemetry `randomSamplingPercentage`). */
export interface Sampling {
  client: number;
  server: number;
}

interface Outbound {
  requestId: string;
  traceId: string | undefined;
  startWall: number;
  span: StartedSpan | undefined;
  /** Attempt 1 as seen so far (its span is made only once a second attempt shows it was retried). */
  first?: { start: number; end?: number; outcome?: AttemptOutcome; endpoint: UpstreamEndpoint };
  attempts?: Map<number, StartedSpan>;
}

interface Inbound {
  scope: CallScope;
  span: StartedSpan | undefined;
  startWall: number;
}

const kInbound = 'meshlet.telemetry.inbound';
const MAX_REQUEST_ID = 256;

/** Epoch milliseconds, as OpenTelemetry takes times. */
const wall = (): number => performance.timeOrigin + performance.now();

/**
 * The mesh's request telemetry.
 *
 * @example
 * ```ts
 * const t = new CallTelemetry(workload, tracing, accessLogger);
 * observers.add(t, () => t.enabled());
 * policy.use(t.stage, 0);
 * ```
 */
export class CallTelemetry implements CallObserver<Outbound | undefined> {
  /** Current sampling (the control plane's Telemetry, else 100%: an SDK's own sampler still applies). */
  sampling: Sampling = { client: 100, server: 100 };

  constructor(
    private readonly local: TelemetryWorkload,
    private readonly tracing: Tracing | undefined,
    private readonly accessLog: AccessLogger | undefined,
    private readonly alwaysRequestId = false,
    private readonly random: () => number = Math.random,
  ) {}

  /** Whether calls are observed at all: an SDK records, access logs are on, or request ids are asked for. */
  enabled(): boolean {
    return this.alwaysRequestId || this.accessLog?.on === true || this.tracing?.recording() === true;
  }

  // ---- outbound (call observer) -----------------------------------------------------------

  onStart(call: ObservedCall): Outbound | undefined {
    const scope = (call.callerScope as CallScope | undefined) ?? currentScope();
    const header = (name: string): string | undefined => call.requestHeader?.(name);
    let requestId = header('x-request-id');
    if (requestId === undefined) {
      requestId = scope?.requestId ?? randomUUID();
      call.setRequestHeader?.('x-request-id', requestId);
    }
    const state: Outbound = { requestId, traceId: undefined, startWall: wall(), span: undefined };
    const tracing = this.tracing;
    if (tracing === undefined || !tracing.recording()) return state;
    // An app that forwards trace headers itself is the parent it names (Envoy's outbound
    // sidecar does the same); else the app's own active span; else the inbound request's.
    const sent = extractTrace(header);
    const active = sent?.traceId !== undefined ? undefined : tracing.activeParent();
    const parent: SpanParent | undefined = sent?.traceId !== undefined ? sent : active !== undefined ? { otel: active } : scope?.traceId !== undefined ? scope : undefined;
    const sampled = parent?.otel !== undefined ? undefined : parent?.sampled ?? sent?.sampled ?? this.random() * 100 < this.sampling.client;
    if (sampled === false) {
      // Not sampled: no span, but the decision goes downstream so nobody below samples either.
      const traceId = parent?.traceId ?? randomId(16);
      state.traceId = traceId;
      call.setRequestHeader?.('traceparent', formatTraceparent(traceId, randomId(8), false));
      if (parent?.traceState !== undefined) call.setRequestHeader?.('tracestate', parent.traceState);
      return state;
    }
    const span = tracing.start(operationName(call), 'client', parent, {
      component: 'proxy',
      node_id: tracing.nodeId,
      'guid:x-request-id': requestId,
      'http.method': call.method,
      'http.url': `http://${call.authority}${call.path}`,
      'http.protocol': call.protocol === 'grpc' ? 'HTTP/2' : 'HTTP/1.1',
      upstream_cluster: call.clusterName || 'PassthroughCluster',
      'upstream_cluster.name': call.clusterName || 'PassthroughCluster',
    }, state.startWall);
    state.span = span;
    state.traceId = span.context.traceId;
    call.setRequestHeader?.('traceparent', formatTraceparent(span.context.traceId, span.context.spanId, (span.context.traceFlags & 1) === 1));
    const ts = tracing.traceState(span.context);
    if (ts !== undefined) call.setRequestHeader?.('tracestate', ts);
    return state;
  }

  onAttempt(state: Outbound | undefined, call: ObservedCall, attempt: number, endpoint: UpstreamEndpoint): void {
    if (state?.span === undefined) return;
    if (attempt === 1) {
      state.first = { start: wall(), endpoint };
      return;
    }
    const attempts = (state.attempts ??= new Map());
    const first = state.first;
    if (first !== undefined) {
      // A second attempt: the call was retried or hedged, so the first one gets its span too.
      state.first = undefined;
      const s = this.attemptSpan(state, call, 1, first.endpoint, first.start);
      if (first.outcome !== undefined) this.endAttempt(s, first.outcome, first.end);
      else attempts.set(1, s);
    }
    attempts.set(attempt, this.attemptSpan(state, call, attempt, endpoint, wall()));
  }

  onAttemptEnd(state: Outbound | undefined, _call: ObservedCall, attempt: number, _endpoint: UpstreamEndpoint, outcome: AttemptOutcome): void {
    if (state?.span === undefined) return;
    if (attempt === 1 && state.first !== undefined) {
      state.first.end = wall();
      state.first.outcome = outcome;
      return;
    }
    const s = state.attempts?.get(attempt);
    if (s === undefined) return;
    state.attempts!.delete(attempt);
    this.endAttempt(s, outcome);
  }

  onEnd(state: Outbound | undefined, call: ObservedCall): void {
    if (state === undefined) return;
    const flags = flagsLabel(call.flags);
    if (state.span !== undefined) {
      const endpoint = call.endpoint;
      const attrs: Attributes = { 'http.status_code': call.status, response_flags: flags, response_size: call.responseBytes };
      if (endpoint !== undefined) attrs['upstream_address'] = endpoint.key;
      if (call.grpcStatus !== undefined) attrs['grpc.status_code'] = call.grpcStatus;
      this.tracing!.finish(state.span, attrs, call.status === 0 || call.status >= 500);
    }
    const log = this.accessLog;
    if (log?.on !== true) return;
    log.write({
      direction: 'outbound',
      start_time: new Date(state.startWall).toISOString(),
      method: call.method,
      path: call.path,
      protocol: call.protocol === 'grpc' ? 'HTTP/2' : 'HTTP/1.1',
      response_code: call.protocol === 'grpc' && call.grpcStatus !== undefined ? 200 : call.status,
      grpc_status: call.grpcStatus ?? null,
      response_flags: flags,
      bytes_received: call.requestBytes ?? 0,
      bytes_sent: call.responseBytes,
      duration: Math.round(call.durationMs),
      authority: call.authority,
      request_id: state.requestId,
      trace_id: state.traceId ?? null,
      upstream_host: call.endpoint?.key ?? null,
      upstream_cluster: call.clusterName || 'PassthroughCluster',
      route_name: call.routeName || null,
      downstream_remote_address: null,
      downstream_peer_principal: null,
      user_agent: null,
    });
  }

  private attemptSpan(state: Outbound, call: ObservedCall, attempt: number, endpoint: UpstreamEndpoint, start: number): StartedSpan {
    return this.tracing!.start(`${operationName(call)} attempt ${attempt}`, 'client', { otel: state.span!.otel }, {
      component: 'proxy', 'retry.attempt': attempt, upstream_address: endpoint.key, upstream_cluster: call.clusterName,
    }, start);
  }

  private endAttempt(s: StartedSpan, outcome: AttemptOutcome, end?: number): void {
    const status = outcome.kind === 'response' ? outcome.status : 0;
    this.tracing!.finish(s, { 'attempt.outcome': outcome.kind, ...(status ? { 'http.status_code': status } : {}) }, status === 0 || status >= 500, end);
  }

  // ---- inbound (policy stage) -------------------------------------------------------------

  /** The inbound stage: registered before authentication so refused requests are traced and logged. */
  readonly stage: InboundStage = {
    name: 'telemetry',
    onRequest: (call) => this.inboundStart(call),
    onEnd: (call, outcome) => this.inboundEnd(call, outcome),
  };

  private inboundStart(call: InboundCall): void {
    if (!this.enabled()) return;
    const view = call.view;
    const received = view.header('x-request-id');
    const requestId = received !== undefined && received !== '' && received.length <= MAX_REQUEST_ID ? received : randomUUID();
    if (requestId !== received) setRequestId(call, requestId);
    const startWall = performance.timeOrigin + call.startTime;
    const tracing = this.tracing;
    let scope: CallScope = { requestId };
    let span: StartedSpan | undefined;
    if (tracing !== undefined && tracing.recording()) {
      const parent: IncomingTrace | undefined = extractTrace((name) => view.header(name));
      const sampled = parent?.sampled ?? this.random() * 100 < this.sampling.server;
      if (sampled) {
        const host = `${this.local.service}.${this.local.namespace}.svc.${this.local.domainSuffix}`;
        span = tracing.start(`${host}:${view.localPort}/*`, 'server', parent, {
          component: 'proxy',
          node_id: tracing.nodeId,
          'guid:x-request-id': requestId,
          'http.method': view.method,
          'http.url': `${view.tls ? 'https' : 'http'}://${view.host}${view.path}${view.query ? `?${view.query}` : ''}`,
          'http.protocol': view.protocol === 'grpc' ? 'HTTP/2' : 'HTTP/1.1',
          'peer.address': view.peer.address,
          upstream_cluster: `inbound|${view.localPort}||`,
          'upstream_cluster.name': `inbound|${view.localPort}||`,
          'istio.canonical_service': this.local.service,
          'istio.namespace': this.local.namespace,
          ...(view.header('user-agent') !== undefined ? { user_agent: view.header('user-agent')! } : {}),
          ...(view.peer.principal !== undefined ? { 'peer.principal': view.peer.principal } : {}),
        }, startWall);
        const c = span.context;
        scope = { requestId, traceId: c.traceId, spanId: c.spanId, sampled: (c.traceFlags & 1) === 1, otel: span.otel, ...(tracing.traceState(c) !== undefined ? { traceState: tracing.traceState(c)! } : {}) };
      } else {
        // Not sampled: the handler's calls carry the decision (and the trace id) downstream.
        scope = { requestId, traceId: parent?.traceId ?? randomId(16), spanId: randomId(8), sampled: false, ...(parent?.traceState !== undefined ? { traceState: parent.traceState } : {}) };
      }
    }
    call.state[SCOPE_KEY] = scope;
    call.state[kInbound] = { scope, span, startWall } satisfies Inbound;
  }

  private inboundEnd(call: InboundCall, outcome: InboundOutcome): void {
    const inbound = call.state[kInbound] as Inbound | undefined;
    if (inbound === undefined) return;
    const view = call.view;
    const flags = flagsLabel(call.flags);
    if (inbound.span !== undefined) {
      const attrs: Attributes = { 'http.status_code': outcome.status, response_flags: flags, request_size: outcome.requestBytes, response_size: outcome.responseBytes };
      if (outcome.grpcStatus !== undefined) attrs['grpc.status_code'] = outcome.grpcStatus;
      this.tracing!.finish(inbound.span, attrs, outcome.status === 0 || outcome.status >= 500);
    }
    const log = this.accessLog;
    if (log?.on !== true) return;
    const entry: AccessLogEntry = {
      direction: 'inbound',
      start_time: new Date(inbound.startWall).toISOString(),
      method: view.method,
      path: view.query ? `${view.path}?${view.query}` : view.path,
      protocol: view.protocol === 'grpc' ? 'HTTP/2' : 'HTTP/1.1',
      response_code: outcome.status,
      grpc_status: outcome.grpcStatus ?? null,
      response_flags: flags,
      bytes_received: outcome.requestBytes,
      bytes_sent: outcome.responseBytes,
      duration: Math.round(outcome.durationMs),
      authority: view.host,
      request_id: inbound.scope.requestId,
      trace_id: inbound.scope.traceId ?? null,
      upstream_host: `${this.local.address}:${view.localPort}`,
      upstream_cluster: `inbound|${view.localPort}||`,
      route_name: 'default',
      downstream_remote_address: `${view.peer.address}:${view.peer.port}`,
      downstream_peer_principal: view.peer.principal ?? null,
      user_agent: view.header('user-agent') ?? null,
      requestHeader: (name) => view.header(name),
    };
    log.write(entry);
  }
}

/** Istio's operation name: `<service FQDN>:<port>/*` from the cluster, else the authority. */
function operationName(call: ObservedCall): string {
  const parts = call.clusterName.split('|');
  return parts.length === 4 ? `${parts[3]}:${parts[1]}/*` : `${call.authority}/*`;
}

/** Shows a generated `x-request-id` to the app, as Envoy adds it to the request it forwards. */
function setRequestId(call: InboundCall, id: string): void {
  const native = call.native as { kind?: string; ctx?: { req?: { headers: Record<string, unknown> }; metadata?: { set(k: string, v: string): void } } } | undefined;
  if (native?.kind === 'http' && native.ctx?.req) native.ctx.req.headers['x-request-id'] = id;
  else if (native?.kind === 'grpc' && native.ctx?.metadata) native.ctx.metadata.set('x-request-id', id);
}
