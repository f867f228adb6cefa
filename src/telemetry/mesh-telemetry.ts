/**
 * Traces, request ids and access logs of one mesh, as `createMesh` wires them: loads the
 * OpenTelemetry API when tracing is not off, joins the call observers (gated: no observer at
 * all while nothing is on) and the inbound policy (before authentication; only while something
 * is on, so an idle mesh keeps the policy-free fast path), and follows the control plane's
 * Telemetry as it arrives in listeners: meshlet's control server resolves it per workload (as
 * Istio does) and splits it by side — SERVER settings in the workload's inbound listeners,
 * CLIENT settings in the outbound (API) listeners it is sent — which this applies to the
 * server side (spans, logs of inbound requests) and to the workload's own calls; an outbound
 * side that says nothing (another control plane) falls back to the inbound listener's. The
 * metrics overrides travel along and set the metrics registry's policy.
 */
import type { CallObservers } from '../core/observer.js';
import type { ListenerModel, ListenerTelemetryModel } from '../core/model/listener.js';
import type { Disposable } from '../internal/events.js';
import { trace } from '../internal/debug.js';
import type { InboundPolicy } from '../security/inbound-policy.js';
import { AccessLogger, type AccessLogOption } from './access-log.js';
import { CallTelemetry, type TelemetryWorkload } from './call-telemetry.js';
import { loadTracing, type TracerProviderLike } from './tracing.js';
import { compileMetricsPolicy, defaultMetricsPolicy, type MetricsPolicy, type MetricsSpec } from './metrics-policy.js';

const log = trace('mesh');

/** Before authentication (100): refused requests are traced and logged too. */
const TELEMETRY_PHASE = 0;

/** Options (from `createMesh`'s `telemetry`). */
export interface MeshTelemetryConfig {
  tracing?: 'auto' | boolean | { tracerProvider: TracerProviderLike } | undefined;
  accessLog?: AccessLogOption | undefined;
  requestId?: boolean | undefined;
  random?: () => number;
}

/**
 * A mesh's request telemetry.
 *
 * @example
 * ```ts
 * const t = await MeshTelemetry.start({ tracing: 'auto' });
 * t.attach(workload, nodeId, observers, policy);
 * xds.watch(TYPE_URL.listener, '*', { onChange: (n, l) => t.listener(n, l), onRemove: (n) => t.listener(n, undefined) });
 * ```
 */
export class MeshTelemetry {
  private calls: CallTelemetry | undefined;
  private policy: InboundPolicy | undefined;
  private stage: Disposable | undefined;
  private readonly outbound = new Map<string, ListenerTelemetryModel>();
  private readonly inbound = new Map<string, ListenerTelemetryModel>();
  private metricsTarget: { policy: MetricsPolicy } | undefined;

  private constructor(private readonly config: MeshTelemetryConfig, private readonly tracing: Awaited<ReturnType<typeof loadTracing>>, private readonly accessLog: AccessLogger) {}

  /** Loads what the options ask for; rejects on a bad `accessLog.filter` or a missing API with an explicit tracer provider. */
  static async start(config: MeshTelemetryConfig): Promise<MeshTelemetry> {
    const accessLog = new AccessLogger(config.accessLog);
    const t = config.tracing ?? 'auto';
    const tracing = t === false ? undefined : await loadTracing({
      ...(typeof t === 'object' ? { provider: t.tracerProvider } : {}),
      required: t !== 'auto',
    });
    return new MeshTelemetry(config, tracing, accessLog);
  }

  /** The metrics registry whose policy follows the Telemetry resource's `metrics` (both reporters). */
  metrics(registry: { policy: MetricsPolicy }): void {
    this.metricsTarget = registry;
    this.apply();
  }

  /** Joins the mesh's seams. */
  attach(workload: TelemetryWorkload, nodeId: string, observers: CallObservers, policy: InboundPolicy): void {
    // Nothing can ever switch on: not even the gated observer joins.
    if (this.config.tracing === false && this.config.accessLog === false && this.config.requestId !== true) return;
    if (this.tracing) this.tracing.nodeId = nodeId;
    const calls = new CallTelemetry(workload, this.tracing, this.accessLog, this.config.requestId === true, this.config.random);
    this.calls = calls;
    this.policy = policy;
    observers.add(calls, () => calls.enabled());
    this.refresh();
  }

  /**
   * Re-decides whether the inbound stage runs (after a Telemetry change, and on `listen`, so an
   * SDK registered after `createMesh` is picked up by servers started later).
   */
  refresh(): void {
    const calls = this.calls;
    if (!calls || !this.policy) return;
    if (calls.enabled()) this.stage ??= this.policy.use(calls.stage, TELEMETRY_PHASE);
    else {
      this.stage?.dispose();
      this.stage = undefined;
    }
  }

  /** An LDS update (undefined: removed). */
  listener(name: string, l: ListenerModel | undefined): void {
    const map = l?.inbound !== undefined || (l === undefined && this.inbound.has(name)) ? this.inbound : this.outbound;
    const before = map.get(name);
    if (l?.telemetry) map.set(name, l.telemetry);
    else map.delete(name);
    if (before !== map.get(name)) this.apply();
  }

  /**
   * Applies the current listeners' telemetry. The server side (inbound requests) follows the
   * inbound listeners; the client side (outbound calls) follows the outbound listeners, where
   * meshlet's control server puts a workload's CLIENT settings (as Istio does on a sidecar's
   * outbound HCMs); a workload whose outbound listeners say nothing (another control plane)
   * applies its inbound listener's to its calls too, as before.
   */
  private apply(): void {
    const server = first(this.inbound);
    const client = first(this.outbound) ?? server;
    const calls = this.calls;
    if (calls) {
      calls.sampling = { client: client?.samplingPercent ?? 100, server: server?.samplingPercent ?? client?.samplingPercent ?? 100 };
      calls.spans('client', client && { report: client.disableSpanReporting !== true, customTags: client.customTags ?? [] });
      calls.spans('server', server && { report: server.disableSpanReporting !== true, customTags: server.customTags ?? [] });
    }
    const policy = (t: ListenerTelemetryModel | undefined) => (t === undefined ? undefined : { enabled: t.accessLogs.length > 0, ...(t.accessLogs[0]?.filter !== undefined ? { filter: t.accessLogs[0].filter } : {}) });
    try {
      this.accessLog.apply(policy(server ?? client), policy(client));
    } catch (err) {
      // The control server validated it; a client that cannot run it logs everything rather than nothing.
      log('access log filter from the control plane not supported here: %o', err);
      const on = (t: ListenerTelemetryModel | undefined) => (t === undefined ? undefined : { enabled: t.accessLogs.length > 0 });
      this.accessLog.apply(on(server ?? client), on(client));
    }
    const target = this.metricsTarget;
    if (target) {
      // Both listeners carry the same merged list (each override keeps its mode): either will do.
      const specs = (client?.metrics ?? server?.metrics) as MetricsSpec[] | undefined;
      if (specs === undefined) target.policy = defaultMetricsPolicy();
      else {
        const { policy: compiled, problems } = compileMetricsPolicy(specs);
        for (const p of problems) log('Telemetry metrics: %s', p);
        target.policy = compiled;
      }
    }
    this.refresh();
  }
}

/** The first entry by name (the control server sets the same telemetry on all of them). */
function first(map: Map<string, ListenerTelemetryModel>): ListenerTelemetryModel | undefined {
  let name: string | undefined;
  for (const k of map.keys()) if (name === undefined || k < name) name = k;
  return name === undefined ? undefined : map.get(name);
}
