/**
 * Istio's standard metrics, recorded in-process and rendered as Prometheus text.
 *
 * Recording is a handful of typed-array increments: the label values of an edge (reporter,
 * source, destination, service, protocol, security policy) are bound once into a
 * {@link MetricsEdge}, and each (response code, gRPC status, flags) of that edge gets one
 * {@link RequestSeries} whose label string is escaped once at creation. A request looks its
 * series up in two small maps and bumps numbers; it never builds a label object.
 *
 * Series are bounded (`maxSeries`); past the bound, new label sets fold into one `overflow`
 * series per reporter so totals stay right and memory stays flat.
 */
import { edgeValues, HTTP_LABELS, TCP_LABELS, type ServiceLabels, type WorkloadLabels } from './metrics-labels.js';
import { appendHeader, appendHistogram, bucketIndex, renderBucketBounds, renderLabels } from './prometheus.js';
import { defaultMetricsPolicy, type MetricKind, type MetricsPolicy } from './metrics-policy.js';
import type { OtelMetrics, OtelSeries } from './otel-metrics.js';

/**
 * Envoy's default histogram buckets (`HistogramSettingsImpl::defaultBuckets`), which Istio's
 * stats filter uses for duration and both sizes unless the `sidecar.istio.io/statsHistogramBuckets`
 * annotation overrides them.
 */
export const ISTIO_DEFAULT_BUCKETS: readonly number[] = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

/** Default bound on live series (all families of one {@link IstioMetrics}). */
export const DEFAULT_MAX_SERIES = 20000;

export type Reporter = 'source' | 'destination';
export type RequestProtocol = 'http' | 'grpc' | 'tcp';
/** Istio's values: `mutual_tls` or `none` on the server side; a client reports `unknown`. */
export type SecurityPolicy = 'mutual_tls' | 'none' | 'unknown';

const B = ISTIO_DEFAULT_BUCKETS.length + 1; // with the +Inf bucket
const H = B + 1; // buckets and the sum
/** Layout of a request series' numbers. */
const COUNT = 0;
const DURATION = 1;
const REQ_BYTES = DURATION + H;
const RESP_BYTES = REQ_BYTES + H;
const REQ_MSGS = RESP_BYTES + H;
const RESP_MSGS = REQ_MSGS + 1;
const REQUEST_SLOTS = RESP_MSGS + 1;
/** Layout of a TCP series' numbers. */
const TCP_OPENED = 0;
const TCP_CLOSED = 1;
const TCP_SENT = 2;
const TCP_RECEIVED = 3;

const BOUNDS = Float64Array.from(ISTIO_DEFAULT_BUCKETS);
const LES = renderBucketBounds(ISTIO_DEFAULT_BUCKETS);

function observe(data: Float64Array, at: number, value: number): void {
  data[at + bucketIndex(BOUNDS, value)]! += 1;
  data[at + B]! += value;
}

/** One label set of the HTTP/gRPC families. Call {@link record} once per request. */
export class RequestSeries {
  /** Counts, three histograms (buckets + sum) and two message counters. */
  readonly data = new Float64Array(REQUEST_SLOTS);

  /** @internal */
  constructor(readonly values: readonly string[], readonly labels: string, readonly grpc: boolean, private readonly otel?: OtelSeries) {}

  /**
   * Counts one request. Sizes are body bytes; pass 0 when unknown.
   *
   * @example
   * ```ts
   * edge.series(200, -1, '-').record(12.5, 0, 1830);
   * ```
   */
  record(durationMs: number, requestBytes: number, responseBytes: number): void {
    const d = this.data;
    d[COUNT]! += 1;
    observe(d, DURATION, durationMs);
    observe(d, REQ_BYTES, requestBytes);
    observe(d, RESP_BYTES, responseBytes);
    if (this.otel !== undefined) this.otel.record(durationMs, requestBytes, responseBytes);
  }

  /** Adds gRPC messages (sent by the client, sent by the server). */
  messages(request: number, response: number): void {
    this.data[REQ_MSGS]! += request;
    this.data[RESP_MSGS]! += response;
    if (this.otel !== undefined) this.otel.messages(request, response);
  }
}

/** One label set of the TCP families. */
export class TcpSeries {
  readonly data = new Float64Array(4);
  /** @internal */
  constructor(readonly values: readonly string[], readonly labels: string) {}
  opened(): void { this.data[TCP_OPENED]! += 1; }
  closed(): void { this.data[TCP_CLOSED]! += 1; }
  bytes(sent: number, received: number): void {
    this.data[TCP_SENT]! += sent;
    this.data[TCP_RECEIVED]! += received;
  }
}

/**
 * The labels of one (reporter, source, destination, service, protocol, security) edge, bound
 * once. Obtain with {@link IstioMetrics.edge} when a route/cluster/endpoint is compiled.
 */
export class MetricsEdge {
  private readonly byCode = new Map<number, Map<string, RequestSeries>>();
  private tcpSeries: Map<string, TcpSeries> | undefined;

  /** @internal */
  constructor(private readonly owner: IstioMetrics, readonly reporter: Reporter, private readonly prefix: readonly string[], readonly protocol: RequestProtocol, private readonly security: SecurityPolicy) {}

  /**
   * The series of one outcome. `grpcStatus` is -1 when the call is not gRPC (Istio writes an
   * empty `grpc_response_status` then); `flags` is Envoy's comma list or `-`.
   *
   * @example
   * ```ts
   * const s = edge.series(503, -1, 'UH');
   * s.record(0.4, 0, 19);
   * ```
   */
  series(code: number, grpcStatus: number, flags: string): RequestSeries {
    const key = code * 32 + (grpcStatus + 1);
    let byFlags = this.byCode.get(key);
    if (byFlags === undefined) {
      byFlags = new Map();
      this.byCode.set(key, byFlags);
    }
    let s = byFlags.get(flags);
    if (s === undefined) {
      s = this.owner.newRequestSeries(this.reporter, [...this.prefix, this.protocol, String(code), grpcStatus < 0 ? '' : String(grpcStatus), flags, this.security], this.protocol === 'grpc');
      byFlags.set(flags, s);
    }
    return s;
  }

  /** The TCP series of this edge (request_protocol `tcp`) for Envoy response flags `flags` (`-`: none). */
  tcp(flags = '-'): TcpSeries {
    const byFlags = (this.tcpSeries ??= new Map());
    let s = byFlags.get(flags);
    if (s === undefined) {
      s = this.owner.newTcpSeries(this.reporter, [...this.prefix, 'tcp', flags, this.security]);
      byFlags.set(flags, s);
    }
    return s;
  }
}

/** Options of {@link IstioMetrics}. */
export interface IstioMetricsOptions {
  /** Bound on live series; default {@link DEFAULT_MAX_SERIES}. */
  maxSeries?: number;
  /** From the Telemetry resource's `metrics` (see metrics-policy.ts). */
  policy?: MetricsPolicy;
  /** Also record through the OpenTelemetry metrics API (see otel-metrics.ts). */
  otel?: OtelMetrics;
}

interface Family {
  kind: MetricKind;
  name: string;
  type: 'counter' | 'histogram';
  help: string;
  tcp: boolean;
  at: number;
  grpcOnly?: boolean;
}

/** Families in Istio's order, with where each reads its numbers. */
const FAMILIES: readonly Family[] = [
  { kind: 'REQUEST_COUNT', name: 'istio_requests_total', type: 'counter', help: 'Requests handled, by reporter.', tcp: false, at: COUNT },
  { kind: 'REQUEST_DURATION', name: 'istio_request_duration_milliseconds', type: 'histogram', help: 'Request duration in milliseconds.', tcp: false, at: DURATION },
  { kind: 'REQUEST_SIZE', name: 'istio_request_bytes', type: 'histogram', help: 'Request body size in bytes.', tcp: false, at: REQ_BYTES },
  { kind: 'RESPONSE_SIZE', name: 'istio_response_bytes', type: 'histogram', help: 'Response body size in bytes.', tcp: false, at: RESP_BYTES },
  { kind: 'GRPC_REQUEST_MESSAGES', name: 'istio_request_messages_total', type: 'counter', help: 'gRPC messages sent by the client.', tcp: false, at: REQ_MSGS, grpcOnly: true },
  { kind: 'GRPC_RESPONSE_MESSAGES', name: 'istio_response_messages_total', type: 'counter', help: 'gRPC messages sent by the server.', tcp: false, at: RESP_MSGS, grpcOnly: true },
  { kind: 'TCP_SENT_BYTES', name: 'istio_tcp_sent_bytes_total', type: 'counter', help: 'Bytes sent during response on TCP connections.', tcp: true, at: TCP_SENT },
  { kind: 'TCP_RECEIVED_BYTES', name: 'istio_tcp_received_bytes_total', type: 'counter', help: 'Bytes received during request on TCP connections.', tcp: true, at: TCP_RECEIVED },
  { kind: 'TCP_OPENED_CONNECTIONS', name: 'istio_tcp_connections_opened_total', type: 'counter', help: 'TCP connections opened.', tcp: true, at: TCP_OPENED },
  { kind: 'TCP_CLOSED_CONNECTIONS', name: 'istio_tcp_connections_closed_total', type: 'counter', help: 'TCP connections closed.', tcp: true, at: TCP_CLOSED },
];

const HISTOGRAM_SLOTS = H;

/**
 * The Istio standard metrics of one mesh.
 *
 * @example
 * ```ts
 * const metrics = new IstioMetrics();
 * const edge = metrics.edge('source', productpage, reviewsV2, reviewsService, 'http', 'unknown');
 * edge.series(200, -1, '-').record(3.2, 0, 295);
 * res.end(metrics.render());
 * ```
 */
export class IstioMetrics {
  private readonly edges = new Map<string, MetricsEdge>();
  private readonly requests: RequestSeries[] = [];
  private readonly tcps: TcpSeries[] = [];
  private readonly maxSeries: number;
  private overflowEdges: Partial<Record<Reporter, MetricsEdge>> = {};
  private overflowing: Partial<Record<Reporter, RequestSeries>> = {};
  private overflowingTcp: Partial<Record<Reporter, TcpSeries>> = {};
  private readonly otel: OtelMetrics | undefined;
  policy: MetricsPolicy;

  constructor(options: IstioMetricsOptions = {}) {
    this.otel = options.otel;
    const max = options.maxSeries ?? DEFAULT_MAX_SERIES;
    this.maxSeries = Number.isInteger(max) && max > 0 ? max : DEFAULT_MAX_SERIES;
    this.policy = options.policy ?? defaultMetricsPolicy();
  }

  /** Live series (request and TCP). */
  get seriesCount(): number {
    return this.requests.length + this.tcps.length;
  }

  /**
   * The edge of these labels, created once and then returned from a map (call it when a route,
   * cluster or endpoint is compiled, not per request).
   */
  edge(reporter: Reporter, source: WorkloadLabels, destination: WorkloadLabels, service: ServiceLabels, protocol: RequestProtocol, security: SecurityPolicy): MetricsEdge {
    const prefix = [reporter, ...edgeValues(source, destination, service)];
    const key = `${prefix.join('\u0000')}\u0000${protocol}\u0000${security}`;
    let edge = this.edges.get(key);
    if (edge === undefined) {
      if (this.edges.size >= this.maxSeries) return this.overflowEdge(reporter);
      edge = new MetricsEdge(this, reporter, prefix, protocol, security);
      this.edges.set(key, edge);
    }
    return edge;
  }

  private overflowEdge(reporter: Reporter): MetricsEdge {
    const values = HTTP_LABELS.slice(1, HTTP_LABELS.indexOf('request_protocol')).map(() => 'overflow');
    return (this.overflowEdges[reporter] ??= new MetricsEdge(this, reporter, [reporter, ...values], 'http', 'unknown'));
  }

  /** @internal Called by {@link MetricsEdge}; folds into the overflow series past the bound. */
  newRequestSeries(reporter: Reporter, values: string[], grpc: boolean): RequestSeries {
    if (this.seriesCount >= this.maxSeries) {
      const folded = [reporter, ...HTTP_LABELS.slice(1).map(() => 'overflow')];
      return (this.overflowing[reporter] ??= new RequestSeries(folded, renderLabels(HTTP_LABELS, folded).slice(1, -1), false, this.otel?.series(HTTP_LABELS, folded)));
    }
    const s = new RequestSeries(values, renderLabels(HTTP_LABELS, values).slice(1, -1), grpc, this.otel?.series(HTTP_LABELS, values));
    this.requests.push(s);
    return s;
  }

  /** @internal */
  newTcpSeries(reporter: Reporter, values: string[]): TcpSeries {
    if (this.seriesCount >= this.maxSeries) {
      return (this.overflowingTcp[reporter] ??= new TcpSeries(values.map((v, i) => (i === 0 ? v : 'overflow')), renderLabels(TCP_LABELS, [reporter, ...TCP_LABELS.slice(1).map(() => 'overflow')]).slice(1, -1)));
    }
    const s = new TcpSeries(values, renderLabels(TCP_LABELS, values).slice(1, -1));
    this.tcps.push(s);
    return s;
  }

  /** Prometheus text of every enabled family (Istio's merged `/stats/prometheus` body). */
  render(): string {
    const out: string[] = [];
    const requests = [...this.requests, ...Object.values(this.overflowing)];
    const tcps = [...this.tcps, ...Object.values(this.overflowingTcp)];
    for (const f of FAMILIES) {
      const names = f.tcp ? TCP_LABELS : HTTP_LABELS;
      const rows = groupRows(f.tcp ? tcps : requests.filter((s) => !f.grpcOnly || s.grpc), names, f, this.policy);
      if (rows.length === 0) continue;
      appendHeader(out, f.name, f.type, f.help);
      for (const row of rows) {
        if (f.type === 'histogram') appendHistogram(out, f.name, row.labels, LES, row.data, 0);
        else out.push(`${f.name}${row.labels === '' ? '' : `{${row.labels}}`} ${row.data[0]}`);
      }
    }
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }
}

interface Row {
  labels: string;
  data: Float64Array;
}

/**
 * The rows of one family: series of reporters the policy disables are left out, removed tags
 * are dropped and the series that then share a label set are summed (as Envoy would have
 * recorded them under the narrower tags).
 */
function groupRows(series: ReadonlyArray<RequestSeries | TcpSeries>, names: readonly string[], f: Family, policy: MetricsPolicy): Row[] {
  const width = f.type === 'histogram' ? HISTOGRAM_SLOTS : 1;
  const rows: Row[] = [];
  const merged = new Map<string, Row>();
  for (const s of series) {
    const reporter = s.values[0] as Reporter;
    const rule = policy.rule(f.kind, reporter);
    if (rule.disabled) continue;
    if (f.type === 'counter' && s.data[f.at] === 0) continue;
    if (!rule.removed && !rule.upsert) {
      rows.push({ labels: s.labels, data: s.data.subarray(f.at, f.at + width) });
      continue;
    }
    const keptNames: string[] = [];
    const keptValues: string[] = [];
    for (let i = 0; i < names.length; i++) {
      if (rule.removed?.has(names[i]!)) continue;
      keptNames.push(names[i]!);
      keptValues.push(rule.upsert?.get(names[i]!) ?? s.values[i]!);
    }
    for (const [name, value] of rule.upsert ?? []) {
      if (!names.includes(name)) {
        keptNames.push(name);
        keptValues.push(value);
      }
    }
    const labels = renderLabels(keptNames, keptValues).slice(1, -1);
    let row = merged.get(labels);
    if (row === undefined) {
      row = { labels, data: new Float64Array(width) };
      merged.set(labels, row);
      rows.push(row);
    }
    for (let i = 0; i < width; i++) row.data[i]! += s.data[f.at + i]!;
  }
  return rows;
}
