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
import { extractTrace, formatTraceparent, randomId, unsampledTraceparent, type IncomingTrace } from './propagation.js';
import type { CustomTagModel } from '../core/model/listener.js';
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

/** One side's span settings from the Telemetry resource (`disableSpanReporting`, `customTags`). */
export interface SpanSettings {
  /** False: decide and propagate as usual, but record no span (Telemetry `disableSpanReporting`). */
  report: boolean;
  /** Envoy's custom tags: literals and environment values resolved once, headers per span. */
  customTags: readonly CustomTagModel[];
}

/** The custom tags of one side, split: fixed attributes (literal, environment) and header lookups. */
interface CompiledTags {
  fixed: Attributes;
  headers: ReadonlyArray<{ tag: string; name: string; defaultValue: string }>;
}

const NO_TAGS: CompiledTags = { fixed: {}, headers: [] };

function compileTags(tags: readonly CustomTagModel[], env: NodeJS.ProcessEnv): CompiledTags {
  if (tags.length === 0) return NO_TAGS;
  const fixed: Attributes = {};
  const headers: Array<{ tag: string; name: string; defaultValue: string }> = [];
  for (const t of tags) {
    if (t.kind === 'literal') fixed[t.tag] = t.value;
    else if (t.kind === 'header') headers.push({ tag: t.tag, name: t.name, defaultValue: t.defaultValue });
    else {
      // Envoy reads the environment once, when the config loads; no value and no default: no tag.
      const v = env[t.name] ?? t.defaultValue;
      if (v !== '') fixed[t.tag] = v;
    }
  }
  return { fixed, headers };
}

/** Adds the custom tags to a span's attributes (a header tag: its value, else its default, else none). */
function addTags<T>(attrs: Attributes, tags: CompiledTags, header: (this: T, name: string) => string | undefined, self: T): Attributes {
  if (tags === NO_TAGS) return attrs;
  Object.assign(attrs, tags.fixed);
  for (const h of tags.headers) {
    const v = header.call(self, h.name) ?? h.defaultValue;
    if (v !== '') attrs[h.tag] = v.length > 1024 ? v.slice(0, 1024) : v;
  }
  return attrs;
}

interface Outbound {
  requestId: string | undefined;
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
  private clientSpans = { report: true, tags: NO_TAGS };
  private serverSpans = { report: true, tags: NO_TAGS };

  /**
   * Applies one side's span settings (Telemetry `disableSpanReporting`, `customTags`);
   * undefined: the defaults (spans reported, no custom tags).
   */
  spans(side: 'client' | 'server', settings: SpanSettings | undefined, env: NodeJS.ProcessEnv = process.env): void {
    const compiled = { report: settings?.report ?? true, tags: compileTags(settings?.customTags ?? [], env) };
    if (side === 'client') this.clientSpans = compiled;
    else this.serverSpans = compiled;
  }

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
    const rh = call.requestHeader;
    const logs = this.accessLog?.outbound === true;
    // x-request-id: the app's own, else the inbound request's, else a new one when something
    // reads it (an access log line, a recorded span, `requestId: true`); an unsampled call that
    // logs nothing needs none (the first hop that does generates it, as Envoy would).
    let requestId = rh?.call(call, 'x-request-id');
    if (requestId === undefined && scope?.requestId !== undefined) {
      requestId = scope.requestId;
      call.setRequestHeader?.('x-request-id', requestId);
    }
    const tracing = this.tracing;
    if (tracing === undefined || !tracing.recording()) {
      if (requestId === undefined && (logs || this.alwaysRequestId)) {
        requestId = randomUUID();
        call.setRequestHeader?.('x-request-id', requestId);
      }
      return logs ? { requestId, traceId: undefined, startWall: wall(), span: undefined } : undefined;
    }
    // An app that forwards trace headers itself is the parent it names (Envoy's outbound
    // sidecar does the same); else the app's own active span; else the inbound request's.
    const sent = rh !== undefined && (rh.call(call, 'traceparent') ?? rh.call(call, 'b3') ?? rh.call(call, 'x-b3-traceid') ?? rh.call(call, 'x-b3-sampled') ?? rh.call(call, 'x-b3-flags')) !== undefined ? extractTrace(rh, call) : undefined;
    const active = sent?.traceId !== undefined ? undefined : tracing.activeParent();
    const parent: SpanParent | undefined = sent?.traceId !== undefined ? sent : active !== undefined ? { otel: active } : scope?.traceId !== undefined ? scope : undefined;
    const sampled = parent?.otel !== undefined ? undefined : parent?.sampled ?? sent?.sampled ?? this.random() * 100 < this.sampling.client;
    const spans = this.clientSpans;
    if (sampled === false || (sampled === true && !spans.report)) {
      // No span: the decision (and the trace id) still goes downstream, so nobody below
      // decides otherwise. Nothing else is allocated unless an access log line is written.
      const traceId = parent?.traceId ?? randomId(16);
      call.setRequestHeader?.('traceparent', sampled ? formatTraceparent(traceId, randomId(8), true) : unsampledTraceparent(traceId));
      if (parent?.traceState !== undefined) call.setRequestHeader?.('tracestate', parent.traceState);
      if (requestId === undefined && (logs || this.alwaysRequestId)) {
        requestId = randomUUID();
        call.setRequestHeader?.('x-request-id', requestId);
      }
      return logs ? { requestId, traceId, startWall: wall(), span: undefined } : undefined;
    }
    if (requestId === undefined) {
      requestId = randomUUID();
      call.setRequestHeader?.('x-request-id', requestId);
    }
    const state: Outbound = { requestId, traceId: undefined, startWall: wall(), span: undefined };
    const span = tracing.start(operationName(call), 'client', parent, addTags({
      component: 'proxy',
      node_id: tracing.nodeId,
      'guid:x-request-id': requestId,
      'http.method': call.method,
      'http.url': `http://${call.authority}${call.path}`,
      'http.protocol': call.protocol === 'grpc' ? 'HTTP/2' : 'HTTP/1.1',
      upstream_cluster: call.clusterName || 'PassthroughCluster',
      'upstream_cluster.name': call.clusterName || 'PassthroughCluster',
    }, spans.tags, rh ?? noHeader, call), state.startWall);
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
    if (log?.outbound !== true) return;
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
      request_id: state.requestId ?? null,
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
    const logs = this.accessLog?.inbound === true;
    const received = view.header('x-request-id');
    let requestId = received !== undefined && received !== '' && received.length <= MAX_REQUEST_ID ? received : undefined;
    const tracing = this.tracing;
    let scope: CallScope | undefined;
    let span: StartedSpan | undefined;
    if (tracing !== undefined && tracing.recording()) {
      const parent: IncomingTrace | undefined = extractTrace(view.header, view);
      const sampled = parent?.sampled ?? this.random() * 100 < this.sampling.server;
      const spans = this.serverSpans;
      if (sampled && spans.report) {
        requestId ??= this.newRequestId(call);
        const host = `${this.local.service}.${this.local.namespace}.svc.${this.local.domainSuffix}`;
        const ua = view.header('user-agent');
        const attrs: Attributes = {
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
        };
        if (ua !== undefined) attrs['user_agent'] = ua;
        if (view.peer.principal !== undefined) attrs['peer.principal'] = view.peer.principal;
        span = tracing.start(`${host}:${view.localPort}/*`, 'server', parent, addTags(attrs, spans.tags, view.header, view), performance.timeOrigin + call.startTime);
        const c = span.context;
        const ts = tracing.traceState(c);
        scope = { requestId, traceId: c.traceId, spanId: c.spanId, sampled: (c.traceFlags & 1) === 1, otel: span.otel, ...(ts !== undefined ? { traceState: ts } : {}) };
      } else {
        // No span (unsampled, or span reporting disabled): the handler's calls still carry the
        // decision and the trace id downstream; nothing else is made for the request.
        if (requestId === undefined && (logs || this.alwaysRequestId)) requestId = this.newRequestId(call);
        const traceId = parent?.traceId ?? randomId(16);
        scope = parent?.traceState !== undefined ? { requestId, traceId, sampled, traceState: parent.traceState } : { requestId, traceId, sampled };
      }
    } else {
      if (requestId === undefined) requestId = this.newRequestId(call); // on for access logs or `requestId: true`
      scope = { requestId };
    }
    call.state[SCOPE_KEY] = scope;
    if (span !== undefined || logs) call.state[kInbound] = { scope, span, startWall: performance.timeOrigin + call.startTime } satisfies Inbound;
  }

  /** A generated x-request-id, shown to the app as Envoy adds it to the request it forwards. */
  private newRequestId(call: InboundCall): string {
    const id = randomUUID();
    setRequestId(call, id);
    return id;
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
    if (log?.inbound !== true) return;
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
      request_id: inbound.scope.requestId ?? null,
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

const noHeader = (): undefined => undefined;

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
