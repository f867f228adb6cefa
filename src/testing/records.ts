/** `t.records()`: what each outbound call of a test mesh did, from the mesh's call observer. */
import type { CallObserver, ObservedCall } from '../core/observer.js';
import type { ResponseFlag } from '../core/types.js';

/**
 * One finished outbound call of a test mesh.
 *
 * @example
 * ```ts
 * const r = t.records({ service: 'ratings' });
 * assert.equal(r.filter((x) => x.flags.includes('FI')).length, 1);
 * ```
 */
export interface TestRecord {
  /** The calling mesh's service (`t.mesh(service)`). */
  source: string;
  /** The destination service's short name (from the cluster; the host called when passthrough). */
  service: string;
  protocol: 'http' | 'grpc';
  method: string;
  /** Host as the caller wrote it. */
  host: string;
  path: string;
  /** The route that matched (VirtualService HTTP route name; `default` without one); `''` when none. */
  route: string;
  /** `outbound|9080|v1|reviews.default.svc.cluster.local`, `PassthroughCluster`, or `''`. */
  cluster: string;
  /** The subset of the cluster (`v1`), `''` without one. */
  subset: string;
  /** `address:port` of the endpoint that answered (or was tried last); absent when none was picked. */
  endpoint?: string;
  /** The answering endpoint's labels (`{ app, version }`). */
  endpointLabels?: Record<string, string>;
  /** Upstream attempts (0 for local replies such as fault aborts). */
  attempts: number;
  /** HTTP status the caller got (gRPC: its HTTP equivalent); 0 when it got an error. */
  status: number;
  /** gRPC status code (gRPC calls only). */
  grpcStatus?: number;
  /** Envoy response flags: `FI` fault abort, `DI` fault delay, `URX` retries exhausted, … */
  flags: ResponseFlag[];
  /** Wall-clock duration of the call in ms (real time, even with a manual clock). */
  durationMs: number;
}

/**
 * Which records `t.records()` returns (all when empty).
 *
 * @example
 * ```ts
 * t.records({ source: 'reviews', service: 'ratings' });
 * ```
 */
export interface RecordFilter {
  /** Calls from this service. */
  source?: string;
  /** Calls to this service. */
  service?: string;
}

function serviceOf(cluster: string, host: string): string {
  const parts = cluster.split('|');
  const fqdn = parts.length === 4 ? (parts[3] as string) : host;
  return fqdn.split('.')[0] ?? fqdn;
}

/**
 * The observer that appends a {@link TestRecord} per finished call of `source`'s mesh, keeping
 * the latest `limit`.
 *
 * @example
 * ```ts
 * const sub = mesh.observe(recordingObserver('productpage', records, 10_000));
 * ```
 */
export function recordingObserver(source: string, out: TestRecord[], limit: number): CallObserver<undefined> {
  return {
    onStart: () => undefined,
    onEnd: (_state, call: ObservedCall) => {
      if (out.length >= limit) out.shift(); // bounded: a long test keeps the latest calls
      const parts = call.clusterName.split('|');
      const e = call.endpoint;
      out.push({
        source,
        service: serviceOf(call.clusterName, call.authority),
        protocol: call.protocol,
        method: call.method,
        host: call.authority,
        path: call.path,
        route: call.routeName,
        cluster: call.clusterName,
        subset: parts.length === 4 ? (parts[2] as string) : '',
        ...(e ? { endpoint: e.key, endpointLabels: { ...e.labels } } : {}),
        attempts: call.attempts,
        status: call.status,
        ...(call.grpcStatus !== undefined ? { grpcStatus: call.grpcStatus } : {}),
        flags: [...call.flags],
        durationMs: call.durationMs,
      });
    },
  };
}

/**
 * Records matching a filter (a copy).
 *
 * @example
 * ```ts
 * filterRecords(all, { service: 'ratings' });
 * ```
 */
export function filterRecords(all: readonly TestRecord[], filter: RecordFilter = {}): TestRecord[] {
  return all.filter((r) => (filter.source === undefined || r.source === filter.source) && (filter.service === undefined || r.service === filter.service));
}
