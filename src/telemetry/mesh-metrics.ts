/**
 * The metrics of one mesh, as `createMesh({ metricsPort })` sets them up: the Istio standard
 * metrics registry, the observer that fills it from both adapters and the inbound seam, and the
 * Prometheus endpoint. Bound before the xDS stream opens, so the first node already announces
 * the port.
 */
import { CallMetrics, type LocalWorkload } from './call-metrics.js';
import { IstioMetrics } from './metrics.js';
import { MetricsServer } from './metrics-server.js';

/** A mesh's metrics (see {@link startMeshMetrics}). */
export interface MeshMetrics {
  readonly registry: IstioMetrics;
  /** The call observer (outbound) and inbound recorder. */
  readonly calls: CallMetrics;
  /** Bound port of `/stats/prometheus`. */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts the metrics of a mesh serving Prometheus text on `host:port` (0 picks a free port).
 *
 * @example
 * ```ts
 * const m = await startMeshMetrics({ service: 'reviews', labels: { app: 'reviews', version: 'v2' } }, '127.0.0.1', 0);
 * observers.add(m.calls);
 * await m.close();
 * ```
 */
export async function startMeshMetrics(local: LocalWorkload, host: string, port: number): Promise<MeshMetrics> {
  const registry = new IstioMetrics();
  const calls = new CallMetrics(registry, local);
  const server = await MetricsServer.start(() => registry.render(), host, port);
  return { registry, calls, port: server.port, close: () => server.close() };
}
