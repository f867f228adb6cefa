/** The request record: one outbound HTTP request or gRPC call as the mesh saw it (both adapters emit it). */
import type { ResponseFlag } from '../core/types.js';
import type { CallObserver, ObservedCall } from '../core/observer.js';

/**
 * One outbound request as the mesh saw it, emitted by `mesh.on('request', fn)` after it ended
 * (Envoy's access-log fields, meshlet's names).
 *
 * @example
 * ```ts
 * mesh.on('request', (r) => { if (r.flags.length) console.warn(r.method, r.host, r.path, r.status, r.flags.join(',')); });
 * ```
 */
export interface RequestRecord {
  method: string;
  /** Host as the caller wrote it (no port). */
  host: string;
  path: string;
  /** Route name from RDS; `''` for passthrough and requests that matched no route. */
  routeName: string;
  /** Upstream cluster (`outbound|9080|v1|reviews.default.svc.cluster.local`), `PassthroughCluster` when not in the mesh, `''` when none. */
  clusterName: string;
  /** `address:port` of the endpoint that answered (with hedging, the winning attempt's), else of the last attempt's, if one was picked. */
  endpoint?: string;
  /** Status the caller got; 0 when it got an error instead. */
  status: number;
  flags: ResponseFlag[];
  /** Upstream attempts made (0 for local replies). */
  attempts: number;
  durationMs: number;
}

/** Receives a {@link RequestRecord} per request; only called when someone listens. */
export type RecordSink = (record: RequestRecord) => void;

/**
 * One gRPC call as the mesh saw it: a {@link RequestRecord} (method `POST`, path
 * `/pkg.Service/Method`, `status` the HTTP equivalent of the gRPC status) plus the gRPC status.
 */
export interface GrpcRequestRecord extends RequestRecord {
  protocol: 'grpc';
  /** The gRPC status code the caller got. */
  grpcStatus: number;
}

/** Receives a record per finished gRPC call; only asked for while someone listens. */
export type GrpcRecordSink = (record: GrpcRequestRecord) => void;

/**
 * The `'request'` event as a call observer: one {@link RequestRecord} (gRPC calls: a
 * {@link GrpcRequestRecord}) per call, built in `onEnd` (no state per call).
 *
 * @example
 * ```ts
 * observers.add(recordObserver((r) => events.emit('request', r)), () => listeners > 0);
 * ```
 */
export function recordObserver(sink: (record: RequestRecord | GrpcRequestRecord) => void, only?: 'grpc'): CallObserver<undefined> {
  return {
    onStart: () => undefined,
    onEnd: (_state, call) => {
      if (only === undefined || call.protocol === only) sink(toRecord(call));
    },
  };
}

/**
 * The record of an observed call (what `mesh.on('request')` gets), built in `onEnd`.
 *
 * @example
 * ```ts
 * mesh.observe({ onStart: () => undefined, onEnd: (_s, call) => log.info(toRecord(call)) });
 * ```
 */
export function toRecord(call: ObservedCall): RequestRecord | GrpcRequestRecord {
  const endpoint = call.endpoint;
  if (call.protocol === 'grpc') {
    return {
      protocol: 'grpc', method: call.method, host: call.authority, path: call.path, routeName: call.routeName, clusterName: call.clusterName,
      ...(endpoint ? { endpoint: endpoint.key } : {}),
      status: call.status, grpcStatus: call.grpcStatus ?? 0, flags: [...call.flags], attempts: call.attempts, durationMs: call.durationMs,
    };
  }
  // One object, as before observers; the flags are the call's own list (it has ended).
  return {
    method: call.method, host: call.authority, path: call.path, routeName: call.routeName, clusterName: call.clusterName,
    ...(endpoint ? { endpoint: endpoint.key } : {}),
    status: call.status, flags: call.flags as ResponseFlag[], attempts: call.attempts, durationMs: call.durationMs,
  };
}
