/** Public and shared types of the gRPC adapter. */
import type { Engine } from '../core/types.js';
import type { RequestRecord } from '../http/types.js';

/**
 * One gRPC call as the mesh saw it: an HTTP {@link RequestRecord} (method `POST`, path
 * `/pkg.Service/Method`, `status` the HTTP equivalent of the gRPC status) plus the gRPC status.
 */
export interface GrpcRequestRecord extends RequestRecord {
  protocol: 'grpc';
  /** The gRPC status code the caller got. */
  grpcStatus: number;
}

/** Receives a record per finished call; only asked for while someone listens. */
export type GrpcRecordSink = (record: GrpcRequestRecord) => void;

/** What the resolver, LB policy and interceptor need from one mesh. Kept in the global registry. */
export interface GrpcMeshRuntime {
  readonly id: string;
  readonly engine: Engine;
  /** Randomness for retry jitter. */
  readonly random: () => number;
  /** Where request records go, or undefined when nobody listens. */
  records(): GrpcRecordSink | undefined;
}
