/**
 * Istio resources as plain data, with Istio's own (camelCase, YAML) field names. Only validated
 * data is typed this way: the loader checks every field before a value reaches these shapes.
 * Reference: istio.io/latest/docs/reference/config/networking and .../security.
 */

/** Where a resource (or a field of it) came from, for file:line diagnostics. */
export interface SourceRef {
  file: string;
  line: number;
  column?: number;
}

export interface ObjectMeta {
  name: string;
  /** Defaults to the store's default namespace ("default") when the YAML omits it. */
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ResourceBase<K extends string, S> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
  /** Present when the resource came from YAML. */
  source?: SourceRef;
}

// ---------------------------------------------------------------- networking.istio.io

export type StringMatch = { exact: string } | { prefix: string } | { regex: string };
/**
 * A header or query-parameter match: a StringMatch, or `{}` (and Istio's `regex: "*"`), which
 * Istio translates to a presence match.
 */
export type PresenceOrStringMatch = StringMatch | Record<string, never>;

export interface PortSelector {
  number?: number;
}

export interface Destination {
  host: string;
  subset?: string;
  port?: PortSelector;
}

export interface Percent {
  value: number;
}

export interface HeaderOperations {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface Headers {
  request?: HeaderOperations;
  response?: HeaderOperations;
}

export interface HTTPMatchRequest {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  headers?: Record<string, PresenceOrStringMatch>;
  withoutHeaders?: Record<string, PresenceOrStringMatch>;
  queryParams?: Record<string, PresenceOrStringMatch>;
  port?: number;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  gateways?: string[];
  ignoreUriCase?: boolean;
  statPrefix?: string;
}

export interface HTTPRouteDestination {
  destination: Destination;
  weight?: number;
  headers?: Headers;
}

export interface HTTPRedirect {
  uri?: string;
  authority?: string;
  port?: number;
  derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  scheme?: string;
  redirectCode?: number;
}

export interface HTTPDirectResponse {
  status: number;
  body?: { string?: string; bytes?: string };
}

export interface HTTPRewrite {
  uri?: string;
  authority?: string;
  uriRegexRewrite?: { match: string; rewrite: string };
}

export interface HTTPRetry {
  attempts?: number;
  /** Duration string such as "2s" or "250ms". */
  perTryTimeout?: string;
  /** Comma-separated Envoy retry conditions (5xx, gateway-error, reset, connect-failure, ...). */
  retryOn?: string;
  retryRemoteLocalities?: boolean;
}

export interface HTTPFaultInjection {
  delay?: {
    fixedDelay?: string;
    exponentialDelay?: string;
    percentage?: Percent;
    /** Deprecated integer percentage; still accepted (bookinfo uses it). */
    percent?: number;
  };
  abort?: {
    httpStatus?: number;
    grpcStatus?: string;
    http2Error?: string;
    percentage?: Percent;
    /** Deprecated integer percentage. */
    percent?: number;
  };
}

export interface HTTPMirrorPolicy {
  destination: Destination;
  percentage?: Percent;
}

export interface CorsPolicy {
  allowOrigins?: StringMatch[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: string;
  allowCredentials?: boolean;
}

export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  redirect?: HTTPRedirect;
  directResponse?: HTTPDirectResponse;
  /** Hands matching requests to another (host-less) VirtualService. Accepted by the loader. */
  delegate?: { name: string; namespace?: string };
  rewrite?: HTTPRewrite;
  timeout?: string;
  retries?: HTTPRetry;
  fault?: HTTPFaultInjection;
  mirror?: Destination;
  mirrorPercentage?: Percent;
  /** Deprecated integer mirror percentage. */
  mirrorPercent?: number;
  mirrors?: HTTPMirrorPolicy[];
  corsPolicy?: CorsPolicy;
  headers?: Headers;
}

export interface L4MatchAttributes {
  destinationSubnets?: string[];
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  sourceNamespace?: string;
}

export interface RouteDestination {
  destination: Destination;
  weight?: number;
}

export interface TCPRoute {
  match?: L4MatchAttributes[];
  route?: RouteDestination[];
}

export interface TLSRoute {
  match: Array<L4MatchAttributes & { sniHosts: string[] }>;
  route?: RouteDestination[];
}

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HTTPRoute[];
  tcp?: TCPRoute[];
  tls?: TLSRoute[];
  exportTo?: string[];
}

export type SimpleLB = 'UNSPECIFIED' | 'RANDOM' | 'PASSTHROUGH' | 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'LEAST_CONN';

export interface ConsistentHashLB {
  httpHeaderName?: string;
  httpCookie?: { name: string; path?: string; ttl?: string };
  useSourceIp?: boolean;
  httpQueryParameterName?: string;
  ringHash?: { minimumRingSize?: number };
  maglev?: { tableSize?: number };
  /** Deprecated; use ringHash.minimumRingSize. */
  minimumRingSize?: number;
}

export interface LocalityLoadBalancerSetting {
  distribute?: Array<{ from: string; to: Record<string, number> }>;
  failover?: Array<{ from: string; to: string }>;
  failoverPriority?: string[];
  enabled?: boolean;
}

export interface LoadBalancerSettings {
  simple?: SimpleLB;
  consistentHash?: ConsistentHashLB;
  localityLbSetting?: LocalityLoadBalancerSetting;
  warmupDurationSecs?: string;
}

export interface ConnectionPoolSettings {
  tcp?: {
    maxConnections?: number;
    connectTimeout?: string;
    tcpKeepalive?: { probes?: number; time?: string; interval?: string };
    maxConnectionDuration?: string;
    idleTimeout?: string;
  };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeout?: string;
    h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
    useClientProtocol?: boolean;
    maxConcurrentStreams?: number;
  };
}

export interface OutlierDetection {
  splitExternalLocalOriginErrors?: boolean;
  consecutiveLocalOriginFailures?: number;
  consecutiveGatewayErrors?: number;
  consecutive5xxErrors?: number;
  /** Deprecated alias of consecutive5xxErrors (gateway errors only in old Istio). */
  consecutiveErrors?: number;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
}

export interface ClientTLSSettings {
  mode?: 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';
  clientCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  credentialName?: string;
  subjectAltNames?: string[];
  sni?: string;
  insecureSkipVerify?: boolean;
}

export interface PortTrafficPolicy {
  port?: PortSelector;
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTLSSettings;
}

/** Istio's TrafficPolicy.RetryBudget: concurrent retries ≤ max(minRetryConcurrency, percent of active requests). */
export interface RetryBudget {
  /** Default 20. */
  percent?: { value: number };
  /** Default 3. */
  minRetryConcurrency?: number;
  budgetInterval?: string;
}

export interface TrafficPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTLSSettings;
  /** Opt-in retry budget (Istio sets none by default). */
  retryBudget?: RetryBudget;
  portLevelSettings?: PortTrafficPolicy[];
}

export interface Subset {
  name: string;
  labels?: Record<string, string>;
  trafficPolicy?: TrafficPolicy;
}

export interface WorkloadSelector {
  matchLabels?: Record<string, string>;
}

export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets?: Subset[];
  exportTo?: string[];
  workloadSelector?: WorkloadSelector;
}

export interface ServicePort {
  number: number;
  /** Istio accepts any case ("http", "HTTP"); normalized to upper case by the loader. */
  protocol?: string;
  name?: string;
  targetPort?: number;
}

export interface WorkloadEntrySpec {
  address?: string;
  ports?: Record<string, number>;
  labels?: Record<string, string>;
  network?: string;
  locality?: string;
  weight?: number;
  serviceAccount?: string;
}

export interface ServiceEntrySpec {
  hosts: string[];
  addresses?: string[];
  ports?: ServicePort[];
  location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  resolution?: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  endpoints?: WorkloadEntrySpec[];
  workloadSelector?: { labels?: Record<string, string> };
  exportTo?: string[];
  subjectAltNames?: string[];
}

export interface ServerTLSSettings {
  httpsRedirect?: boolean;
  mode?: 'PASSTHROUGH' | 'SIMPLE' | 'MUTUAL' | 'AUTO_PASSTHROUGH' | 'ISTIO_MUTUAL' | 'OPTIONAL_MUTUAL';
  serverCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  credentialName?: string;
  subjectAltNames?: string[];
  minProtocolVersion?: string;
  maxProtocolVersion?: string;
  cipherSuites?: string[];
}

export interface GatewayServer {
  port: { number: number; protocol: string; name?: string; targetPort?: number };
  bind?: string;
  hosts: string[];
  tls?: ServerTLSSettings;
  defaultEndpoint?: string;
  name?: string;
}

export interface GatewaySpec {
  selector?: Record<string, string>;
  servers: GatewayServer[];
}

// ---------------------------------------------------------------- security.istio.io

export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface PeerAuthenticationSpec {
  selector?: WorkloadSelector;
  mtls?: { mode?: MtlsMode };
  portLevelMtls?: Record<string, { mode?: MtlsMode }>;
}

export interface AuthzSource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
  /** `sa` (the policy's namespace) or `ns/sa` (Istio ≥ 1.22). */
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
}

export interface AuthzOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

export interface AuthzCondition {
  key: string;
  values?: string[];
  notValues?: string[];
}

export interface AuthzRule {
  from?: Array<{ source: AuthzSource }>;
  to?: Array<{ operation: AuthzOperation }>;
  when?: AuthzCondition[];
}

export interface AuthorizationPolicySpec {
  selector?: WorkloadSelector;
  action?: 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
  provider?: { name: string };
  rules?: AuthzRule[];
}

export interface JWTRule {
  issuer: string;
  audiences?: string[];
  jwksUri?: string;
  jwks?: string;
  fromHeaders?: Array<{ name: string; prefix?: string }>;
  fromParams?: string[];
  fromCookies?: string[];
  outputPayloadToHeader?: string;
  forwardOriginalToken?: boolean;
  outputClaimToHeaders?: Array<{ header: string; claim: string }>;
  timeout?: string;
}

export interface RequestAuthenticationSpec {
  selector?: WorkloadSelector;
  jwtRules?: JWTRule[];
}

// ---------------------------------------------------------------- telemetry.istio.io

/** Telemetry `match.mode`: which side of a request the entry applies to. */
export type WorkloadMode = 'CLIENT_AND_SERVER' | 'CLIENT' | 'SERVER';

/** Telemetry `tracing[].customTags.<tag>`: exactly one of the three. */
export interface TelemetryCustomTag {
  literal?: { value?: string };
  environment?: { name?: string; defaultValue?: string };
  header?: { name?: string; defaultValue?: string };
}

export interface TelemetryTracing {
  match?: { mode?: WorkloadMode };
  providers?: Array<{ name: string }>;
  /** Percent of requests sampled when the caller made no decision, [0, 100]. */
  randomSamplingPercentage?: number;
  /** No spans are reported; sampling decisions and context propagation are unchanged. */
  disableSpanReporting?: boolean;
  customTags?: Record<string, TelemetryCustomTag>;
  useRequestIdForTraceSampling?: boolean;
}

export interface TelemetryAccessLogging {
  match?: { mode?: WorkloadMode };
  providers?: Array<{ name: string }>;
  disabled?: boolean;
  filter?: { expression?: string };
}

export interface TelemetrySpec {
  selector?: WorkloadSelector;
  tracing?: TelemetryTracing[];
  accessLogging?: TelemetryAccessLogging[];
  metrics?: TelemetryMetrics[];
}

/** Telemetry `metrics[]` (Istio's standard metrics: which are reported, and their tags). */
export interface TelemetryMetrics {
  providers?: Array<{ name: string }>;
  reportingInterval?: string;
  overrides?: Array<{
    match?: { metric?: string; customMetric?: string; mode?: WorkloadMode };
    disabled?: boolean;
    tagOverrides?: Record<string, { operation?: 'UPSERT' | 'REMOVE'; value?: string }>;
  }>;
}

// ---------------------------------------------------------------- unions

export type VirtualService = ResourceBase<'VirtualService', VirtualServiceSpec>;
export type DestinationRule = ResourceBase<'DestinationRule', DestinationRuleSpec>;
export type ServiceEntry = ResourceBase<'ServiceEntry', ServiceEntrySpec>;
export type WorkloadEntry = ResourceBase<'WorkloadEntry', WorkloadEntrySpec>;
export type Gateway = ResourceBase<'Gateway', GatewaySpec>;
export type PeerAuthentication = ResourceBase<'PeerAuthentication', PeerAuthenticationSpec>;
export type AuthorizationPolicy = ResourceBase<'AuthorizationPolicy', AuthorizationPolicySpec>;
export type RequestAuthentication = ResourceBase<'RequestAuthentication', RequestAuthenticationSpec>;
export type Telemetry = ResourceBase<'Telemetry', TelemetrySpec>;

/** Any resource meshlet understands, discriminated on `kind`. */
export type IstioResource =
  | VirtualService
  | DestinationRule
  | ServiceEntry
  | WorkloadEntry
  | Gateway
  | PeerAuthentication
  | AuthorizationPolicy
  | RequestAuthentication
  | Telemetry;

export type ResourceKind = IstioResource['kind'];

export const RESOURCE_KINDS: readonly ResourceKind[] = [
  'VirtualService',
  'DestinationRule',
  'ServiceEntry',
  'WorkloadEntry',
  'Gateway',
  'PeerAuthentication',
  'AuthorizationPolicy',
  'RequestAuthentication',
  'Telemetry',
];

/** A problem found in configuration. `path` is the field path inside the resource, e.g. `spec.http[0].route[1].weight`. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  code: import('../errors.js').MeshErrorCode;
  message: string;
  file?: string;
  line?: number;
  column?: number;
  path?: string;
  /** `Kind/namespace/name` of the resource concerned, when known. */
  resource?: string;
}

/** `Kind/namespace/name`: the identity of a resource in a store. */
export function resourceKey(r: Pick<IstioResource, 'kind' | 'metadata'>): string {
  return `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;
}
