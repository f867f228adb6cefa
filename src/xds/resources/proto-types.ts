/**
 * The shapes protobufjs `toObject` produces for the xDS messages meshlet reads (keepCase field
 * names, longs and enums as strings, oneof names as virtual fields, unset fields absent). Only
 * the fields the validators read are declared; everything is optional because the wire may
 * omit anything.
 */
import type { StructProto } from '../struct.js';

export interface AnyProto { type_url?: string; value?: Uint8Array }
export interface DurationProto { seconds?: string | number; nanos?: number }
export interface UInt32Proto { value?: number }
export interface UInt64Proto { value?: string | number }
export interface BoolProto { value?: boolean }
export interface FractionalPercentProto { numerator?: number; denominator?: string }
export interface MetadataProto { filter_metadata?: Record<string, StructProto> }
export interface RegexMatcherProto { regex?: string }
export interface StringMatcherProto {
  match_pattern?: string;
  exact?: string; prefix?: string; suffix?: string; contains?: string;
  safe_regex?: RegexMatcherProto; ignore_case?: boolean;
}
export interface ConfigSourceProto { config_source_specifier?: string; ads?: object; self?: object }

// Listener ------------------------------------------------------------------------------------
export interface ListenerProto { name?: string; api_listener?: { api_listener?: AnyProto }; address?: object; filter_chains?: unknown[]; metadata?: MetadataProto }
export interface HttpFilterProto { name?: string; config_type?: string; typed_config?: AnyProto; config_discovery?: object; is_optional?: boolean; disabled?: boolean }
export interface HcmProto {
  route_specifier?: string;
  rds?: { config_source?: ConfigSourceProto; route_config_name?: string };
  route_config?: RouteConfigurationProto;
  scoped_routes?: object;
  http_filters?: HttpFilterProto[];
  common_http_protocol_options?: { max_stream_duration?: DurationProto };
}

// Route ---------------------------------------------------------------------------------------
export interface HeaderValueOptionProto {
  header?: { key?: string; value?: string; raw_value?: Uint8Array };
  append?: BoolProto; append_action?: string; keep_empty_value?: boolean;
}
export interface HeaderMutationsProto {
  request_headers_to_add?: HeaderValueOptionProto[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOptionProto[];
  response_headers_to_remove?: string[];
}
export interface RouteConfigurationProto extends HeaderMutationsProto {
  name?: string;
  virtual_hosts?: VirtualHostProto[];
  vhds?: object;
}
export interface VirtualHostProto extends HeaderMutationsProto {
  name?: string;
  domains?: string[];
  routes?: RouteProto[];
  typed_per_filter_config?: Record<string, AnyProto>;
  retry_policy?: RetryPolicyProto;
  hedge_policy?: HedgePolicyProto;
  require_tls?: string;
}
export interface HedgePolicyProto {
  initial_requests?: UInt32Proto;
  additional_request_chance?: FractionalPercentProto;
  hedge_on_per_try_timeout?: boolean;
}
export interface HeaderMatcherProto {
  name?: string;
  header_match_specifier?: string;
  exact_match?: string; safe_regex_match?: RegexMatcherProto; prefix_match?: string; suffix_match?: string; contains_match?: string;
  range_match?: { start?: string | number; end?: string | number };
  present_match?: boolean;
  string_match?: StringMatcherProto;
  invert_match?: boolean;
  treat_missing_header_as_empty?: boolean;
}
export interface QueryParameterMatcherProto { name?: string; query_parameter_match_specifier?: string; string_match?: StringMatcherProto; present_match?: boolean }
export interface RouteMatchProto {
  path_specifier?: string;
  prefix?: string; path?: string; safe_regex?: RegexMatcherProto; path_separated_prefix?: string;
  case_sensitive?: BoolProto;
  headers?: HeaderMatcherProto[];
  query_parameters?: QueryParameterMatcherProto[];
  runtime_fraction?: { default_value?: FractionalPercentProto; runtime_key?: string };
  grpc?: object;
}
export interface RetryPolicyProto {
  retry_on?: string;
  num_retries?: UInt32Proto;
  per_try_timeout?: DurationProto;
  retry_back_off?: { base_interval?: DurationProto; max_interval?: DurationProto };
  retriable_status_codes?: number[];
}
export interface HashPolicyProto {
  policy_specifier?: string;
  header?: { header_name?: string };
  cookie?: { name?: string; ttl?: DurationProto; path?: string };
  connection_properties?: { source_ip?: boolean };
  query_parameter?: { name?: string };
  filter_state?: { key?: string };
  terminal?: boolean;
}
export interface RegexRewriteProto { pattern?: RegexMatcherProto; substitution?: string }
export interface RouteActionProto {
  cluster_specifier?: string;
  cluster?: string; cluster_header?: string;
  weighted_clusters?: { clusters?: ClusterWeightProto[]; total_weight?: UInt32Proto };
  timeout?: DurationProto;
  max_stream_duration?: { max_stream_duration?: DurationProto; grpc_timeout_header_max?: DurationProto };
  retry_policy?: RetryPolicyProto;
  hedge_policy?: HedgePolicyProto;
  hash_policy?: HashPolicyProto[];
  prefix_rewrite?: string;
  regex_rewrite?: RegexRewriteProto;
  host_rewrite_specifier?: string;
  host_rewrite_literal?: string;
  request_mirror_policies?: Array<{ cluster?: string; runtime_fraction?: { default_value?: FractionalPercentProto } }>;
}
export interface ClusterWeightProto extends HeaderMutationsProto {
  name?: string; weight?: UInt32Proto; typed_per_filter_config?: Record<string, AnyProto>;
  host_rewrite_specifier?: string; host_rewrite_literal?: string;
}
export interface RedirectActionProto {
  scheme_rewrite_specifier?: string; https_redirect?: boolean; scheme_redirect?: string;
  host_redirect?: string; port_redirect?: number;
  path_rewrite_specifier?: string; path_redirect?: string; prefix_rewrite?: string; regex_rewrite?: RegexRewriteProto;
  response_code?: string; strip_query?: boolean;
}
export interface RouteProto extends HeaderMutationsProto {
  name?: string;
  match?: RouteMatchProto;
  action?: string;
  route?: RouteActionProto;
  redirect?: RedirectActionProto;
  direct_response?: { status?: number; body?: { specifier?: string; inline_string?: string; inline_bytes?: Uint8Array; filename?: string } };
  non_forwarding_action?: object;
  filter_action?: object;
  typed_per_filter_config?: Record<string, AnyProto>;
  metadata?: MetadataProto;
}
export interface FilterConfigWrapperProto { config?: AnyProto; is_optional?: boolean; disabled?: boolean }
export interface HttpFaultProto {
  delay?: { fault_delay_secifier?: string; fixed_delay?: DurationProto; header_delay?: object; percentage?: FractionalPercentProto };
  abort?: { error_type?: string; http_status?: number; grpc_status?: number; header_abort?: object; percentage?: FractionalPercentProto };
  max_active_faults?: UInt32Proto;
}

// Cluster -------------------------------------------------------------------------------------
export interface TypedExtensionConfigProto { name?: string; typed_config?: AnyProto }
export interface LoadBalancingPolicyProto { policies?: Array<{ typed_extension_config?: TypedExtensionConfigProto }> }
export interface ThresholdsProto {
  priority?: string;
  max_connections?: UInt32Proto; max_pending_requests?: UInt32Proto; max_requests?: UInt32Proto; max_retries?: UInt32Proto;
  retry_budget?: { budget_percent?: { value?: number }; min_retry_concurrency?: UInt32Proto };
}
export interface OutlierDetectionProto {
  consecutive_5xx?: UInt32Proto; consecutive_gateway_failure?: UInt32Proto; consecutive_local_origin_failure?: UInt32Proto;
  interval?: DurationProto; base_ejection_time?: DurationProto; max_ejection_time?: DurationProto;
  max_ejection_percent?: UInt32Proto;
  enforcing_consecutive_5xx?: UInt32Proto; enforcing_consecutive_gateway_failure?: UInt32Proto; enforcing_success_rate?: UInt32Proto;
  success_rate_minimum_hosts?: UInt32Proto; success_rate_request_volume?: UInt32Proto; success_rate_stdev_factor?: UInt32Proto;
  failure_percentage_threshold?: UInt32Proto; enforcing_failure_percentage?: UInt32Proto;
  failure_percentage_minimum_hosts?: UInt32Proto; failure_percentage_request_volume?: UInt32Proto;
  split_external_local_origin_errors?: boolean;
}
export interface ClusterProto {
  name?: string;
  cluster_discovery_type?: string;
  type?: string;
  cluster_type?: TypedExtensionConfigProto;
  eds_cluster_config?: { eds_config?: ConfigSourceProto; service_name?: string };
  load_assignment?: ClusterLoadAssignmentProto;
  lb_policy?: string;
  load_balancing_policy?: LoadBalancingPolicyProto;
  lb_config?: string;
  ring_hash_lb_config?: { minimum_ring_size?: UInt64Proto; maximum_ring_size?: UInt64Proto; hash_function?: string };
  least_request_lb_config?: { choice_count?: UInt32Proto };
  maglev_lb_config?: { table_size?: UInt64Proto };
  common_lb_config?: { locality_config_specifier?: string; locality_weighted_lb_config?: object; healthy_panic_threshold?: { value?: number } };
  typed_extension_protocol_options?: Record<string, AnyProto>;
  circuit_breakers?: { thresholds?: ThresholdsProto[] };
  outlier_detection?: OutlierDetectionProto;
  connect_timeout?: DurationProto;
  metadata?: MetadataProto;
  transport_socket?: { name?: string; config_type?: string; typed_config?: AnyProto };
  transport_socket_matches?: Array<{ name?: string; match?: StructProto; transport_socket?: { name?: string; config_type?: string; typed_config?: AnyProto } }>;
}

// Endpoint ------------------------------------------------------------------------------------
export interface SocketAddressProto { address?: string; port_specifier?: string; port_value?: number; named_port?: string }
export interface LbEndpointProto {
  endpoint?: { address?: { address?: string; socket_address?: SocketAddressProto }; hostname?: string };
  host_identifier?: string;
  endpoint_name?: string;
  health_status?: string;
  metadata?: MetadataProto;
  load_balancing_weight?: UInt32Proto;
}
export interface LocalityLbEndpointsProto {
  locality?: { region?: string; zone?: string; sub_zone?: string };
  lb_endpoints?: LbEndpointProto[];
  load_balancing_weight?: UInt32Proto;
  priority?: number;
}
export interface ClusterLoadAssignmentProto {
  cluster_name?: string;
  endpoints?: LocalityLbEndpointsProto[];
  policy?: { drop_overloads?: Array<{ category?: string; drop_percentage?: FractionalPercentProto }> };
}
