/**
 * The shape of the call observer's events as telemetry consumes them. The adapters report
 * core/observer.ts's CallObserver (onStart / onAttempt / onAttemptEnd / onEnd, a view of the
 * adapter's call rather than these copied objects); the composition root is to adapt one to
 * the other (not wired yet: CallStart also wants headers and inbound calls).
 * Everything here is plain data the adapters already hold: no headers are copied for telemetry.
 */

/** A workload as the observer knows it: the local one (from createMesh options) or an endpoint's. */
export interface CallWorkload {
  service?: string;
  namespace?: string;
  labels?: Readonly<Record<string, string>>;
  serviceAccount?: string;
  /** Verified URI SAN of the peer certificate, when the connection was mTLS. */
  principal?: string;
}

/** Start of a call (outbound through the dispatcher or gRPC, or inbound in a server). */
export interface CallStart {
  direction: 'outbound' | 'inbound';
  protocol: 'http' | 'grpc';
  method: string;
  /** `:authority` / Host as received or written by the caller. */
  authority: string;
  path: string;
  /** RDS route name; `''` when none matched. */
  routeName: string;
  /** Upstream cluster (outbound) or the inbound cluster (`inbound|9080||`); `''` when none. */
  clusterName: string;
  /** Request header lookup (lower-case names); used for trace context and x-request-id. */
  header(name: string): string | undefined;
  /** Inbound only: the caller's workload as it announced itself (metadata exchange), if it did. */
  peer?: CallWorkload;
  /** Inbound only: the connection was mTLS with a verified peer. */
  mtls?: boolean;
  /** Inbound only: `address:port` of the caller. */
  remoteAddress?: string;
  /** Start time, epoch ms (the observer's clock). */
  startTime: number;
}

/** One upstream attempt of an outbound call. */
export interface CallAttempt {
  /** 1-based. */
  attempt: number;
  /** `address:port` picked. */
  endpoint: string;
  /** The endpoint's workload (labels, namespace, service account) from EDS metadata. */
  workload?: CallWorkload;
  /** Hedged attempts run alongside the first. */
  hedged?: boolean;
}

/** How an attempt ended. */
export interface CallAttemptEnd {
  status: number;
  flags: readonly string[];
  durationMs: number;
}

/** How a call ended (what the caller, or the server's client, got). */
export interface CallEnd {
  /** HTTP status (gRPC calls: 200 unless the transport failed). 0 when no response. */
  status: number;
  /** gRPC status code; `undefined` for plain HTTP. */
  grpcStatus?: number;
  /** Envoy response flags (`UH`, `UF`, `URX`, …); empty when none. */
  flags: readonly string[];
  requestBytes: number;
  responseBytes: number;
  requestMessages?: number;
  responseMessages?: number;
  durationMs: number;
  /** The endpoint that answered (outbound), as in {@link CallAttempt}. */
  endpoint?: string;
  workload?: CallWorkload;
  attempts: number;
}

/**
 * What the call observer calls. `S` is the per-call state the implementation returns from
 * `onStart` and gets back on each later event (no closure per call).
 */
export interface CallEvents<S> {
  onStart(call: CallStart): S;
  onAttempt?(state: S, attempt: CallAttempt): void;
  onAttemptEnd?(state: S, attempt: CallAttempt, end: CallAttemptEnd): void;
  onEnd(state: S, end: CallEnd): void;
}
