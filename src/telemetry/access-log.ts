/**
 * Access logs: one JSON line per request, inbound and outbound (a sidecar logs both), with the
 * fields of Istio's default JSON format (`pilot/pkg/model/telemetry_logging.go`
 * EnvoyJSONLogFormatIstio: `start_time`, `method`, `path`, `protocol`, `response_code`,
 * `response_flags`, `bytes_received`, `bytes_sent`, `duration`, `upstream_host`,
 * `upstream_cluster`, `request_id`, `authority`, `route_name`, `user_agent`, …) plus
 * `trace_id` (Envoy's `%TRACE_ID%`) and `downstream_peer_principal` (`%DOWNSTREAM_PEER_URI_SAN%`).
 * As in Envoy's JSON formatter, numbers are numbers and a missing value is `null`.
 */
import { compileAccessLogFilter, type AccessLogFilter } from './access-log-filter.js';

/**
 * One access log entry (the JSON line's fields; `requestHeader` is not printed, it serves
 * `request.headers[…]` in filters).
 */
export interface AccessLogEntry {
  /** `inbound` (a request this process served) or `outbound` (a call it made). */
  direction: 'inbound' | 'outbound';
  /** ISO 8601 with milliseconds, UTC (Envoy's `%START_TIME%`). */
  start_time: string;
  method: string;
  /** Path with query as received (inbound) or as the caller wrote it (outbound). */
  path: string;
  /** `HTTP/1.1`, `HTTP/2` (gRPC). */
  protocol: string;
  /** HTTP status (gRPC: 200 unless refused before the handler); 0 when no response was sent. */
  response_code: number;
  /** gRPC status code (gRPC only, else null). */
  grpc_status: number | null;
  /** Envoy response flags, comma separated; `-` when none. */
  response_flags: string;
  bytes_received: number;
  bytes_sent: number;
  /** Milliseconds, whole (Envoy's `%DURATION%`). */
  duration: number;
  authority: string;
  /** `x-request-id`. */
  request_id: string | null;
  /** W3C trace id of the request's span, when traced. */
  trace_id: string | null;
  /** `address:port` of the endpoint that answered (outbound), or of this server (inbound). */
  upstream_host: string | null;
  /** Outbound: `outbound|9080|v1|reviews.default.svc.cluster.local`; inbound: `inbound|9080||`. */
  upstream_cluster: string | null;
  route_name: string | null;
  /** The caller's address (inbound). */
  downstream_remote_address: string | null;
  /** SPIFFE ID of the caller's verified certificate (inbound mTLS). */
  downstream_peer_principal: string | null;
  user_agent: string | null;
  /** @internal headers for filters; not printed. */
  requestHeader?: (name: string) => string | undefined;
}

/**
 * Where access log lines go: `'stdout'` (default), or a function receiving each entry and its
 * JSON line.
 */
export type AccessLogSink = 'stdout' | ((entry: AccessLogEntry, line: string) => void);

/**
 * The `accessLog` option of `createMesh`: `true` logs every request to stdout; an object picks
 * the sink and a filter; `false` never logs, whatever the control plane's Telemetry says.
 * Without the option, logging follows the Telemetry resource's `accessLogging` (to stdout).
 *
 * @example
 * ```ts
 * createMesh({ accessLog: { filter: 'response.code >= 400', sink: (entry) => logger.info(entry) } });
 * ```
 */
export type AccessLogOption = boolean | { sink?: AccessLogSink; filter?: string };

/** The entry as its JSON line (the internal `requestHeader` left out). */
export function formatAccessLog(e: AccessLogEntry): string {
  const { requestHeader: _h, ...fields } = e;
  return JSON.stringify(fields);
}

/** What the control plane says for this workload (Telemetry `accessLogging`, resolved). */
export interface AccessLogPolicy {
  /** False: a Telemetry resource disabled access logs. */
  readonly enabled: boolean;
  /** CEL filter text (already validated by the control server; compiled here again). */
  readonly filter?: string;
}

/**
 * Decides per request whether to log, from the local option and the control plane's policy,
 * and writes the line.
 *
 * @example
 * ```ts
 * const log = new AccessLogger({ filter: 'response.code >= 500' });
 * if (log.on) log.write(entry);
 * ```
 */
export class AccessLogger {
  /** True when lines may be written in either direction (checked before an entry is built). */
  on = false;
  /** Per direction: inbound (the server side, Telemetry mode SERVER) and outbound (CLIENT). */
  inbound = false;
  outbound = false;
  private inboundFilter: AccessLogFilter | undefined;
  private outboundFilter: AccessLogFilter | undefined;
  private readonly sink: (entry: AccessLogEntry, line: string) => void;
  private readonly localFilter: AccessLogFilter | undefined;

  /** Throws MESHLET_ERR_ACCESS_LOG_FILTER for a filter outside the supported CEL subset. */
  constructor(private readonly option: AccessLogOption | undefined) {
    const o = typeof option === 'object' ? option : {};
    const sink = o.sink ?? 'stdout';
    this.sink = sink === 'stdout' ? (_e, line) => void process.stdout.write(`${line}\n`) : sink;
    this.localFilter = o.filter !== undefined ? compileAccessLogFilter(o.filter) : undefined;
    this.apply(undefined);
  }

  /**
   * Applies the control plane's policy for the server side (inbound requests) and the client
   * side (outbound calls; default: the server's), undefined: none for that side. Istio's
   * Telemetry overrides mesh defaults: it switches logging on or off and its filter replaces
   * the local one; `accessLog: false` stays off. Throws MESHLET_ERR_ACCESS_LOG_FILTER for a
   * filter this client cannot compile (the caller then logs everything rather than nothing).
   */
  apply(server: AccessLogPolicy | undefined, client: AccessLogPolicy | undefined = server): void {
    const [inbound, inboundFilter] = this.side(server);
    const [outbound, outboundFilter] = this.side(client);
    this.inbound = inbound;
    this.outbound = outbound;
    this.inboundFilter = inboundFilter;
    this.outboundFilter = outboundFilter;
    this.on = inbound || outbound;
  }

  private side(policy: AccessLogPolicy | undefined): [boolean, AccessLogFilter | undefined] {
    if (this.option === false) return [false, undefined];
    if (policy === undefined) return [this.option !== undefined, this.localFilter];
    return [policy.enabled, policy.filter !== undefined ? compileAccessLogFilter(policy.filter) : this.localFilter];
  }

  /** Writes the entry if its direction logs and the filter lets it through; a sink that throws is ignored. */
  write(entry: AccessLogEntry): void {
    const inbound = entry.direction === 'inbound';
    if (!(inbound ? this.inbound : this.outbound)) return;
    const filter = inbound ? this.inboundFilter : this.outboundFilter;
    if (filter !== undefined && !filter(entry)) return;
    try {
      this.sink(entry, formatAccessLog(entry));
    } catch {
      // a failing sink must not break the request
    }
  }
}
