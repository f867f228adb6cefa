/**
 * Spans through the OpenTelemetry API only (`@opentelemetry/api`, an optional peer dependency,
 * loaded with a dynamic import; no SDK is imported here). A span is recorded only while an SDK
 * is registered (or a TracerProvider was passed): otherwise tracing costs a property read per
 * request. Span names and attributes follow Envoy's HTTP tracing (`source/common/tracing/
 * http_tracer_impl.cc` HttpTracerUtility::finalizeDownstreamSpan / finalizeUpstreamSpan, and
 * `docs/root/intro/arch_overview/observability/tracing.rst`): operation `<host>:<port>/*`,
 * `component: proxy`, `node_id`, `guid:x-request-id`, `http.url`, `http.method`,
 * `http.protocol`, `upstream_cluster`, `http.status_code`, `response_flags`, `error` on 5xx.
 */
import type { Attributes, Context, Span, SpanContext, Tracer } from '@opentelemetry/api';
import { meshError } from '../errors.js';
import { MESHLET_VERSION } from '../xds/node.js';
import { setOtelContextRunner } from './context.js';

type Api = typeof import('@opentelemetry/api');

/** What `getTracer` needs: the API's global `trace` object or any TracerProvider. */
export interface TracerProviderLike {
  getTracer(name: string, version?: string): unknown;
}

/** The parent of a span: a remote caller's ids, or the app's own active OTel context. */
export interface SpanParent {
  readonly traceId?: string | undefined;
  readonly spanId?: string | undefined;
  readonly sampled?: boolean | undefined;
  readonly traceState?: string | undefined;
  /** An OTel Context holding the parent span (an in-process parent). */
  readonly otel?: unknown;
}

/** A started span as meshlet keeps it. */
export interface StartedSpan {
  readonly span: Span;
  readonly context: SpanContext;
  /** The OTel Context with this span active (for the handler and child spans). */
  readonly otel: Context;
}

const GLOBAL_API_KEY = Symbol.for('opentelemetry.js.api.1');

/**
 * The tracer of one mesh.
 *
 * @example
 * ```ts
 * const tracing = await loadTracing({});
 * if (tracing?.recording()) tracing.start('reviews.default.svc.cluster.local:9080/*', 'server', undefined, { 'http.method': 'GET' });
 * ```
 */
export class Tracing {
  private readonly tracer: Tracer;
  /** Envoy's `node_id` tag: the mesh's xDS node id. */
  nodeId = '';

  constructor(private readonly api: Api, private readonly provider: TracerProviderLike | undefined) {
    this.tracer = (provider ?? api.trace).getTracer('meshlet', MESHLET_VERSION) as Tracer;
    setOtelContextRunner((ctx, fn) => api.context.with(ctx as Context, fn));
  }

  private cached = false;
  private countdown = 0;

  /**
   * True while spans would be recorded: a provider was passed, or an SDK registered the global
   * one. Reading the API's registry off `globalThis` costs ~100 ns (a symbol lookup on the
   * global proxy), so it is read again every 256 calls: an SDK registered (or `trace.disable()`d)
   * later is seen within that many calls.
   */
  recording(): boolean {
    if (this.provider !== undefined) return true;
    if (--this.countdown > 0) return this.cached;
    this.countdown = 256;
    this.cached = (globalThis as Record<symbol, { trace?: unknown } | undefined>)[GLOBAL_API_KEY]?.trace !== undefined;
    return this.cached;
  }

  /** The app's active OTel context when it holds a span (the app's own span inside a handler). */
  activeParent(): Context | undefined {
    const ctx = this.api.context.active();
    return this.api.trace.getSpan(ctx) === undefined ? undefined : ctx;
  }

  /**
   * Starts a span under `parent` (a remote caller, or an in-process OTel context; none: a root).
   * `startTime` is epoch milliseconds.
   */
  start(name: string, kind: 'server' | 'client' | 'internal', parent: SpanParent | undefined, attributes: Attributes, startTime?: number): StartedSpan {
    const api = this.api;
    let parentCtx: Context = api.ROOT_CONTEXT;
    if (parent?.otel !== undefined) parentCtx = parent.otel as Context;
    else if (parent?.traceId !== undefined && parent.spanId !== undefined) {
      parentCtx = api.trace.setSpanContext(api.ROOT_CONTEXT, {
        traceId: parent.traceId,
        spanId: parent.spanId,
        traceFlags: parent.sampled === false ? api.TraceFlags.NONE : api.TraceFlags.SAMPLED,
        isRemote: true,
        ...(parent.traceState !== undefined ? { traceState: api.createTraceState(parent.traceState) } : {}),
      });
    }
    const spanKind = kind === 'server' ? api.SpanKind.SERVER : kind === 'client' ? api.SpanKind.CLIENT : api.SpanKind.INTERNAL;
    const span = this.tracer.startSpan(name, { kind: spanKind, attributes, ...(startTime !== undefined ? { startTime } : {}) }, parentCtx);
    return { span, context: span.spanContext(), otel: api.trace.setSpan(parentCtx, span) };
  }

  /** Ends a span with Envoy's final tags; `status` 0 (no response) or ≥ 500 marks an error. */
  finish(s: StartedSpan, attributes: Attributes, error: boolean, endTime?: number): void {
    s.span.setAttributes(attributes);
    if (error) s.span.setStatus({ code: this.api.SpanStatusCode.ERROR });
    s.span.end(endTime);
  }

  /** The W3C tracestate text of a span context ('' when empty). */
  traceState(c: SpanContext): string | undefined {
    const ts = c.traceState?.serialize();
    return ts ? ts : undefined;
  }
}

/**
 * Loads `@opentelemetry/api` and creates the mesh's tracer. Resolves undefined when the package
 * is not installed and tracing was not asked for explicitly; rejects with MESHLET_ERR_CONFIG when
 * it was (`required`).
 *
 * @example
 * ```ts
 * const tracing = await loadTracing({ required: true });
 * ```
 */
export async function loadTracing(options: { provider?: TracerProviderLike; required?: boolean }): Promise<Tracing | undefined> {
  let api: Api;
  try {
    api = await import('@opentelemetry/api');
  } catch (err) {
    if (!options.required) return undefined;
    throw meshError('MESHLET_ERR_CONFIG', 'telemetry.tracing needs the @opentelemetry/api package (npm install @opentelemetry/api, plus an SDK such as @opentelemetry/sdk-node)', { cause: err });
  }
  return new Tracing(api, options.provider);
}
