/** Route configuration model: virtual hosts, matches, actions and per-route policies. Plain immutable data built by src/xds/resources, read by the engine. */
import type { JsonObject } from '../../internal/json.js';
import type { FullMatchRegex, RewriteRegex } from '../../internal/regex.js';
import type { Fraction } from './common.js';
import type { FilterConfigModel } from './listener.js';

/** Matcher on the request path. `regex` is RE2, full match, as in Envoy. */
export type PathMatchModel =
  | { readonly kind: 'exact' | 'prefix' | 'path_separated_prefix'; readonly value: string; readonly caseSensitive: boolean }
  | { readonly kind: 'regex'; readonly value: string; readonly regex: FullMatchRegex; readonly caseSensitive: boolean };

/** A string matcher (exact/prefix/suffix/contains/regex), as in Envoy's StringMatcher. */
export type StringMatchModel =
  | { readonly kind: 'exact' | 'prefix' | 'suffix' | 'contains'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'regex'; readonly value: string; readonly regex: FullMatchRegex };

/**
 * Header matcher. `invert` negates the result (Envoy's invert_match); `treatMissingAsEmpty`
 * (treat_missing_header_as_empty) matches a missing header as the empty string.
 */
export type HeaderMatchModel = { readonly name: string; readonly invert: boolean; readonly treatMissingAsEmpty?: boolean } & (
  | StringMatchModel
  | { readonly kind: 'present'; readonly present: boolean }
  /** Integer range [start, end) on the header value. */
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
);

/** Query parameter matcher: `present`, or a string match on the value. */
export type QueryParamMatchModel = { readonly name: string } & (StringMatchModel | { readonly kind: 'present' });

export interface RouteMatchModel {
  readonly path: PathMatchModel;
  readonly headers: readonly HeaderMatchModel[];
  readonly queryParams: readonly QueryParamMatchModel[];
  /** runtime_fraction.default_value: the route matches only this fraction of requests. */
  readonly fraction?: Fraction;
  /** grpc: {} — match gRPC requests only (content-type application/grpc*). */
  readonly grpcOnly: boolean;
}

export interface WeightedClusterModel {
  readonly name: string;
  readonly weight: number;
  /** Per-cluster fault override (typed_per_filter_config), most specific level. */
  readonly fault?: FaultModel;
  /** ClusterWeight header fields: applied after the route's when this cluster is picked. */
  readonly requestHeadersToAdd?: readonly HeaderToAddModel[];
  readonly requestHeadersToRemove?: readonly string[];
  readonly responseHeadersToAdd?: readonly HeaderToAddModel[];
  readonly responseHeadersToRemove?: readonly string[];
  /** ClusterWeight.host_rewrite_literal. */
  readonly hostRewrite?: string;
}

export interface RedirectModel {
  readonly scheme?: string;
  readonly host?: string;
  readonly port?: number;
  /** Exactly one path rewrite at most. */
  readonly path?: string;
  readonly prefixRewrite?: string;
  readonly regexRewrite?: RegexRewriteModel;
  /** 301, 302, 303, 307 or 308. */
  readonly status: number;
  readonly stripQuery: boolean;
}

export type RouteActionModel =
  | { readonly kind: 'cluster'; readonly cluster: string }
  | { readonly kind: 'weighted'; readonly clusters: readonly WeightedClusterModel[]; readonly totalWeight: number }
  | { readonly kind: 'cluster_header'; readonly header: string }
  | { readonly kind: 'redirect'; readonly redirect: RedirectModel }
  | { readonly kind: 'direct'; readonly status: number; readonly body?: string }
  | { readonly kind: 'non_forwarding' };

export interface RetryPolicyModel {
  /** Envoy retry_on conditions, split on commas: `5xx`, `connect-failure`, `unavailable`… */
  readonly retryOn: readonly string[];
  /** Default 1 (Envoy). */
  readonly numRetries: number;
  readonly perTryTimeoutMs?: number;
  /** Envoy defaults: base 25 ms, max 10 × base. */
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly retriableStatusCodes: readonly number[];
}

export interface FaultModel {
  readonly delay?:
    | { readonly kind: 'fixed'; readonly delayMs: number; readonly fraction: Fraction }
    /** Delay taken from the `x-envoy-fault-delay-request` header. */
    | { readonly kind: 'header'; readonly fraction: Fraction };
  readonly abort?:
    | { readonly kind: 'http'; readonly httpStatus: number; readonly fraction: Fraction }
    | { readonly kind: 'grpc'; readonly grpcStatus: number; readonly fraction: Fraction }
    /** Status taken from the `x-envoy-fault-abort-request` / `-grpc-request` headers. */
    | { readonly kind: 'header'; readonly fraction: Fraction };
  /** Unset: unlimited. */
  readonly maxActiveFaults?: number;
}

export type HashPolicyModel = { readonly terminal: boolean } & (
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string; readonly ttlMs?: number; readonly path?: string }
  | { readonly kind: 'connection'; readonly sourceIp: boolean }
  | { readonly kind: 'query_parameter'; readonly name: string }
);

/** How a header is added: Envoy's HeaderValueOption.append_action. */
export type HeaderAppendAction = 'append' | 'add_if_absent' | 'overwrite' | 'overwrite_if_exists';

export interface HeaderToAddModel {
  readonly name: string;
  readonly value: string;
  readonly action: HeaderAppendAction;
  readonly keepEmptyValue: boolean;
}

export interface RegexRewriteModel {
  /** RE2; Envoy replaces every match. */
  readonly regex: RewriteRegex;
  readonly substitution: string;
}

export interface MirrorModel {
  readonly cluster: string;
  /** Default 100%. */
  readonly fraction: Fraction;
}

export interface RouteModel {
  readonly name: string;
  readonly match: RouteMatchModel;
  readonly action: RouteActionModel;
  /**
   * route.timeout in ms; 0 disables. Undefined when unset — Envoy would apply 15 s
   * ({@link ENVOY_DEFAULT_ROUTE_TIMEOUT_MS}); gRPC clients use max_stream_duration instead.
   */
  readonly timeoutMs?: number;
  /** max_stream_duration.max_stream_duration (or grpc_timeout_header_max), ms. */
  readonly maxStreamDurationMs?: number;
  /** The route's own policy, else its virtual host's. */
  readonly retryPolicy?: RetryPolicyModel;
  /** hedge_policy.hedge_on_per_try_timeout of the route's policy, else its virtual host's. */
  readonly hedgeOnPerTryTimeout?: boolean;
  /** Most specific of route > virtual host (weighted clusters may override again). */
  readonly fault?: FaultModel;
  readonly hashPolicy: readonly HashPolicyModel[];
  /** In application order: route config, then virtual host, then route (Envoy's default). */
  readonly requestHeadersToAdd: readonly HeaderToAddModel[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderToAddModel[];
  readonly responseHeadersToRemove: readonly string[];
  readonly prefixRewrite?: string;
  readonly regexRewrite?: RegexRewriteModel;
  readonly hostRewrite?: string;
  readonly mirrors: readonly MirrorModel[];
  /** Route metadata (filter_metadata), e.g. Istio's `istio` block. */
  readonly metadata: Readonly<Record<string, JsonObject>>;
}

export interface VirtualHostModel {
  readonly name: string;
  /** As given: exact, `*.suffix`, `prefix*` or `*`. Port may be part of a domain. */
  readonly domains: readonly string[];
  readonly routes: readonly RouteModel[];
  readonly typedPerFilterConfig: Readonly<Record<string, FilterConfigModel>>;
  readonly retryPolicy?: RetryPolicyModel;
}

/** An RDS resource (or HttpConnectionManager.route_config). */
export interface RouteConfigModel {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHostModel[];
}

/** Envoy's route timeout when `timeout` is unset. */
export const ENVOY_DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
