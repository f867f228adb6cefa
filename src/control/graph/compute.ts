/**
 * The arithmetic of the service graph, pure and I/O-free: counter increases between successive
 * scrapes (with Prometheus' reset rule), histogram quantiles from bucket increases (PromQL's
 * `histogram_quantile`), and which series make an edge and between which nodes (Kiali's
 * reporter choice and node identity).
 */

/**
 * How much a counter grew between two scrapes, as PromQL's `increase()`/`rate()` count it
 * (promql/functions.go extrapolatedRate): a value below the previous one means the process
 * restarted and the counter began again at 0, so the whole new value is the growth. A series
 * missing from the previous scrape counts from 0 when the target had been scraped before (it was
 * created since, at 0); on the first scrape of a target there is no baseline yet (0).
 *
 * @example
 * ```ts
 * counterIncrease(10, 15, true); // 5
 * counterIncrease(10, 3, true);  // 3 (reset)
 * counterIncrease(undefined, 4, true); // 4 (new series)
 * counterIncrease(undefined, 4, false); // 0 (first scrape: baseline)
 * ```
 */
export function counterIncrease(prev: number | undefined, cur: number, targetSeenBefore: boolean): number {
  if (!Number.isFinite(cur) || cur < 0) return 0;
  if (prev === undefined) return targetSeenBefore ? cur : 0;
  return cur < prev ? cur : cur - prev;
}

/**
 * The q-quantile of a histogram given cumulative bucket counts sorted by upper bound (the last
 * bound +Inf), as PromQL's `histogram_quantile` computes it (promql/quantile.go bucketQuantile):
 * find the bucket holding rank q·count and interpolate linearly inside it, the first bucket
 * starting at 0; a rank in the +Inf bucket answers the largest finite bound. Undefined when
 * there were no observations.
 *
 * @example
 * ```ts
 * histogramQuantile(0.5, [{ le: 10, count: 0 }, { le: 20, count: 4 }, { le: Infinity, count: 4 }]); // 15
 * ```
 */
export function histogramQuantile(q: number, buckets: ReadonlyArray<{ le: number; count: number }>): number | undefined {
  if (buckets.length < 2 || buckets[buckets.length - 1]!.le !== Infinity) return undefined;
  // Cumulative counts from different scrapes can dip by rounding or resets; keep them monotonic.
  const counts: number[] = [];
  let max = 0;
  for (const b of buckets) counts.push((max = Math.max(max, b.count)));
  const total = counts[counts.length - 1]!;
  if (!(total > 0) || q < 0 || q > 1) return q < 0 ? -Infinity : q > 1 ? Infinity : undefined;
  const rank = q * total;
  let i = counts.findIndex((c) => c >= rank);
  if (i === counts.length - 1) return buckets[buckets.length - 2]!.le;
  if (i === 0 && buckets[0]!.le <= 0) return buckets[0]!.le;
  if (i < 0) i = counts.length - 1;
  const start = i === 0 ? 0 : buckets[i - 1]!.le;
  const below = i === 0 ? 0 : counts[i - 1]!;
  const inBucket = counts[i]! - below;
  if (inBucket <= 0) return buckets[i]!.le;
  return start + (buckets[i]!.le - start) * ((rank - below) / inBucket);
}

/** A graph node: one version of one service (Kiali's versioned-app node), or a service no workload answered for. */
export interface NodeRef {
  namespace: string;
  service: string;
  /** `''` for a service node (the request never reached a workload: a fault, no endpoint). */
  version: string;
}

/** The edge a request series belongs to. */
export interface EdgeRef {
  source: NodeRef;
  dest: NodeRef;
  protocol: string;
  /** Whose report counts it: the caller's, or (callers that report nothing) the destination's. */
  reporter: 'source' | 'destination';
}

const UNKNOWN = 'unknown';

/**
 * A node's id, `ns/service/version` (version empty for a service node).
 *
 * @example
 * ```ts
 * nodeId({ namespace: 'default', service: 'reviews', version: 'v2' }); // 'default/reviews/v2'
 * ```
 */
export function nodeId(n: NodeRef): string {
  return `${n.namespace}/${n.service}/${n.version}`;
}

/**
 * An edge's id: source and destination node ids and the protocol.
 *
 * @example
 * ```ts
 * edgeId(edgeOf(labels)!); // 'default/productpage/v1>default/reviews/v2>http'
 * ```
 */
export function edgeId(e: EdgeRef): string {
  return `${nodeId(e.source)}>${nodeId(e.dest)}>${e.protocol}`;
}

/**
 * The edge of an `istio_requests_total` (or duration) series, or undefined when the series does
 * not count toward the graph. Kiali's rule (graph/telemetry/istio/istio.go
 * buildNamespaceTrafficMap): requests are counted from the caller's report
 * (`reporter="source"`) — it also sees calls that never reached a destination (faults, no
 * endpoint, timeouts); the destination's report counts only callers outside the mesh
 * (`source_workload="unknown"`), which report nothing. A meshlet server on plaintext cannot
 * name its caller either, so buildGraph keeps of those only what no caller reported.
 *
 * @example
 * ```ts
 * edgeOf({ reporter: 'source', source_canonical_service: 'productpage', … });
 * ```
 */
export function edgeOf(l: Readonly<Record<string, string>>): EdgeRef | undefined {
  const reporter = l['reporter'];
  const sourceWorkload = l['source_workload'] ?? UNKNOWN;
  if (reporter === 'destination' && sourceWorkload !== UNKNOWN) return undefined;
  if (reporter !== 'source' && reporter !== 'destination') return undefined;
  const source: NodeRef = sourceWorkload === UNKNOWN
    ? { namespace: l['destination_workload_namespace'] ?? UNKNOWN, service: UNKNOWN, version: '' }
    : { namespace: l['source_workload_namespace'] ?? UNKNOWN, service: l['source_canonical_service'] ?? sourceWorkload, version: l['source_canonical_revision'] ?? '' };
  // A request that reached a workload ends at that workload's version; one that reached none
  // (aborted by a fault, no endpoint) ends at the service node (Kiali's service node).
  const destWorkload = l['destination_workload'] ?? UNKNOWN;
  const dest: NodeRef = destWorkload !== UNKNOWN
    ? { namespace: l['destination_workload_namespace'] ?? UNKNOWN, service: l['destination_canonical_service'] ?? destWorkload, version: l['destination_canonical_revision'] ?? '' }
    : { namespace: l['destination_service_namespace'] ?? UNKNOWN, service: l['destination_service_name'] ?? UNKNOWN, version: '' };
  if (dest.service === UNKNOWN) return undefined;
  return { source, dest, protocol: l['request_protocol'] ?? 'http', reporter };
}

/**
 * Whether a request failed, as Kiali's graph counts errors (graph/types.go
 * addToMetadataHttp/Grpc): HTTP 4xx and 5xx; for gRPC a non-zero grpc-status (or an HTTP 4xx/5xx
 * code); and code 0, which Envoy reports when no response came at all.
 *
 * @example
 * ```ts
 * isError('http', '503', ''); // true
 * isError('grpc', '200', '14'); // true (UNAVAILABLE)
 * ```
 */
export function isError(protocol: string, code: string, grpcStatus: string): boolean {
  if (code === '0') return true;
  if (code.length === 3 && (code[0] === '4' || code[0] === '5')) return true;
  return protocol === 'grpc' && grpcStatus !== '' && grpcStatus !== '0' && grpcStatus !== UNKNOWN;
}
