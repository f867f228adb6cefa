/** Listener model: the HTTP connection manager and its filters. Plain immutable data built by src/xds/resources, read by the engine. */
import type { JsonObject } from '../../internal/json.js';
import type { InboundListenerModel } from './inbound.js';
import type { TcpListenerModel } from './tcp.js';
import type { FaultModel, RouteConfigModel } from './route.js';

/** Decoded config of an HTTP filter, top-level or per-route override. */
export type FilterConfigModel =
  | { readonly kind: 'router'; readonly typeUrl: string }
  | { readonly kind: 'fault'; readonly typeUrl: string; readonly fault: FaultModel }
  /** A filter added with a registered decoder/runtime pair; `value` is what its decoder built. */
  | { readonly kind: 'extension'; readonly typeUrl: string; readonly value: unknown }
  /** A filter meshlet does not implement that the server marked `is_optional`. */
  | { readonly kind: 'unsupported'; readonly typeUrl: string; readonly optional: true };

/** One entry of HttpConnectionManager.http_filters. */
export interface HttpFilterModel {
  readonly name: string;
  readonly typeUrl: string;
  readonly config: FilterConfigModel;
}

/**
 * What an HCM says about telemetry (Istio's Telemetry resource, resolved for the workload by the
 * control server): `tracing.random_sampling` and the access loggers a client runs.
 */
export interface ListenerTelemetryModel {
  /** Percent in [0, 100]; undefined: the HCM has no tracing section. */
  readonly samplingPercent?: number;
  /** Access loggers (stdout/file) with their CEL filter; empty: access logging is off. */
  readonly accessLogs: ReadonlyArray<{ readonly filter?: string }>;
  /** HCM `tracing.custom_tags` (Telemetry `customTags`), sorted by tag. */
  readonly customTags?: readonly CustomTagModel[];
  /** From the listener's `meshlet.telemetry` metadata: which side of the workload's calls this is for. */
  readonly side?: 'client' | 'server';
  /** Telemetry `disableSpanReporting`: decide and propagate, but record no span. */
  readonly disableSpanReporting?: boolean;
  /** Telemetry `metrics[]` as merged for the workload (overrides in order, with their modes). */
  readonly metrics?: readonly JsonObject[];
}

/** Envoy's tracing CustomTag: a fixed value, an environment variable or a request header (each with a default). */
export type CustomTagModel =
  | { readonly tag: string; readonly kind: 'literal'; readonly value: string }
  | { readonly tag: string; readonly kind: 'environment' | 'header'; readonly name: string; readonly defaultValue: string };

/** An LDS resource: an api_listener with an HttpConnectionManager. */
export interface ListenerModel {
  readonly name: string;
  /** Exactly one of `routeConfigName` (RDS) and `routeConfig` (inline) is set. */
  readonly routeConfigName?: string;
  readonly routeConfig?: RouteConfigModel;
  /** In order; the router filter is always last. */
  readonly httpFilters: readonly HttpFilterModel[];
  /** HttpConnectionManager.common_http_protocol_options.max_stream_duration (gRPC). */
  readonly maxStreamDurationMs?: number;
  /**
   * Set on a workload's inbound (socket) listener, `xds.istio.io/grpc/lds/inbound/…`: its
   * filter chains and policies. Such a listener has no routes and no HTTP filters for the
   * outbound engine (`httpFilters` is empty), which never routes through it.
   */
  readonly inbound?: InboundListenerModel;
  /**
   * Set on a socket listener whose filter chains end in tcp_proxy (a gateway's TLS PASSTHROUGH
   * and TCP servers): what to bind and where each chain sends bytes. No routes, no HTTP filters.
   */
  readonly tcp?: TcpListenerModel;
  /** Listener metadata (filter_metadata), when the server sent any: a gateway listener's `meshlet.gateway` description. */
  readonly metadata?: Readonly<Record<string, JsonObject>>;
  /** The HCM's telemetry (inbound listeners: the first chain's), when it sets any. */
  readonly telemetry?: ListenerTelemetryModel;
}
