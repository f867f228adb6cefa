/** Public and shared types of the gRPC adapter. */
import type { Engine } from '../core/types.js';
import type { ObserverList } from '../core/observer.js';

export type { GrpcRecordSink, GrpcRequestRecord } from '../telemetry/record.js';

/** What the resolver, LB policy and interceptor need from one mesh. Kept in the global registry. */
export interface GrpcMeshRuntime {
  readonly id: string;
  readonly engine: Engine;
  /** Randomness for retry jitter. */
  readonly random: () => number;
  /** An injected clock (tests); undefined: Date.now and Node's timers. */
  readonly clock?: import('../internal/clock.js').Clock;
  /** The observers of a call starting now, or undefined when nobody observes. */
  observers(): ObserverList | undefined;
  /** Istio metadata exchange headers this workload sends on every call (when it reports metrics). */
  readonly peerMetadata?: import('../telemetry/peer-metadata.js').PeerMetadataHeaders;
}
