/**
 * The metrics of one mesh, as `createMesh({ metricsPort, telemetry: { otel } })` sets them up:
 * the Istio standard metrics registry, the observer that fills it from both adapters and the
 * inbound seam, the Prometheus endpoint, and (when asked) the OpenTelemetry instruments. Bound
 * before the xDS stream opens, so the first node already announces the port.
 */
import { CallMetrics, type LocalWorkload } from './call-metrics.js';
import { ISTIO_DEFAULT_BUCKETS, IstioMetrics } from './metrics.js';
import { MetricsServer } from './metrics-server.js';
import { loadOtelMetrics, type MeterProviderLike } from './otel-metrics.js';

/** A mesh's metrics (see {@link startMeshMetrics}). */
export interface MeshMetrics {
  readonly registry: IstioMetrics;
  /** The call observer (outbound) and inbound recorder. */
  readonly calls: CallMetrics;
  /** Bound port of `/stats/prometheus`; undefined when only OpenTelemetry was asked for. */
  readonly port: number | undefined;
  close(): Promise<void>;
}

/** Where the metrics go. */
export interface MeshMetricsOptions {
  host: string;
  /** Serve Prometheus text on this port (0 picks one); undefined: no endpoint. */
  port?: number | undefined;
  /** Also record through the OpenTelemetry metrics API: `true` for the global meter provider, or a provider. */
  otel?: boolean | MeterProviderLike | undefined;
}

/**
 * Starts the metrics of a mesh.
 *
 * @example
 * ```ts
 * const m = await startMeshMetrics({ service: 'reviews', labels: { app: 'reviews', version: 'v2' } }, { host: '127.0.0.1', port: 0 });
 * observers.add(m.calls);
 * await m.close();
 * ```
 */
export async function startMeshMetrics(local: LocalWorkload, options: MeshMetricsOptions): Promise<MeshMetrics> {
  const otel = options.otel ? await loadOtelMetrics(ISTIO_DEFAULT_BUCKETS, options.otel === true ? undefined : options.otel) : undefined;
  const registry = new IstioMetrics(otel ? { otel } : {});
  const calls = new CallMetrics(registry, local);
  const server = options.port === undefined ? undefined : await MetricsServer.start(() => registry.render(), options.host, options.port);
  return { registry, calls, port: server?.port, close: async () => { await server?.close(); } };
}
