/**
 * Inbound listeners per workload, as Istio's proxyless generator builds them
 * (`pilot/pkg/networking/grpcgen/lds.go` buildInboundListeners, buildInboundFilterChain(s)):
 * for a requested name `xds.istio.io/grpc/lds/inbound/<host>:<port>`, a socket listener on that
 * address whose filter chains hold an HttpConnectionManager with an inline route configuration
 * (`/` → non-forwarding action) and the RBAC filters of the workload's AuthorizationPolicies
 * (AUDIT as action LOG, then DENY, then ALLOW, as `authz/builder` orders them) before the router.
 * The mTLS mode from PeerAuthentication decides the chains: STRICT one TLS chain with
 * `require_client_certificate`, DISABLE one plaintext chain, PERMISSIVE both, told apart by
 * `transport_protocol` (Istio's sidecar inbound chains; grpcgen itself downgrades PERMISSIVE to
 * plaintext because grpc-go cannot sniff, meshlet can).
 */
import type { IstioResource, RequestAuthentication } from '../../config/types.js';
import { requestAuthnFilter, requestAuthnForWorkload } from './jwt-authn.js';
import { INBOUND_LISTENER_PREFIX } from '../../xds/resources/inbound.js';
import { rbacRules } from './authz.js';
import { authorizationPoliciesFor, peerAuthnMode, ROOT_NAMESPACE, type ResolvedMtls, type WorkloadRef } from './peer-authn.js';
import { anyOf } from './proto-helpers.js';
import { resolveTelemetry, sideHcmFields, sideListenerMetadata } from './telemetry.js';
import type { GeneratedResource } from './types.js';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const RBAC = 'envoy.extensions.filters.http.rbac.v3.RBAC';
const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';
const TLS = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';

/** Istio's RBAC filter names (grpcgen: RBACHTTPFilterName, …Deny; AUDIT follows the pattern). */
export const RBAC_FILTER_NAMES = { audit: 'envoy.filters.http.rbac.AUDIT', deny: 'envoy.filters.http.rbac.DENY', allow: 'envoy.filters.http.rbac' } as const;

/** `[::]:8080` / `0.0.0.0:8080` from an inbound listener name; undefined when it is not one. */
export function parseInboundName(name: string): { host: string; port: number } | undefined {
  if (!name.startsWith(INBOUND_LISTENER_PREFIX)) return undefined;
  const addr = name.slice(INBOUND_LISTENER_PREFIX.length);
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(addr);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2]) as string, port };
}

/** Istio grpcgen buildCommonTLSContext: the certificate provider instances a proxyless server resolves. */
function downstreamTls(): Record<string, unknown> {
  return {
    common_tls_context: {
      tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
      validation_context: { ca_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' } },
    },
    require_client_certificate: { value: true },
  };
}

function httpFilters(resources: readonly IstioResource[], workload: WorkloadRef): Array<Record<string, unknown>> {
  const p = authorizationPoliciesFor(resources, workload);
  const out: Array<Record<string, unknown>> = [];
  // RequestAuthentication first: authorization reads the principal it establishes (Istio's
  // filter order, pilot/pkg/xds/filters: jwt_authn → istio_authn → rbac). Optional, so a stock
  // grpc-js-xds server (which has no jwt_authn) still takes the listener; it then has no request
  // principal, and a policy requiring one denies (fail closed).
  const requestAuthn = requestAuthnFilter(requestAuthnForWorkload(resources.filter((r): r is RequestAuthentication => r.kind === 'RequestAuthentication'), workload, ROOT_NAMESPACE));
  if (requestAuthn) out.push({ ...requestAuthn, is_optional: true });
  const audit = rbacRules(p.audit, 'LOG');
  const deny = rbacRules([...p.custom, ...p.deny], 'DENY');
  const allow = rbacRules(p.allow, 'ALLOW');
  if (audit) out.push({ name: RBAC_FILTER_NAMES.audit, typed_config: anyOf(RBAC, { rules: audit }) });
  if (deny) out.push({ name: RBAC_FILTER_NAMES.deny, typed_config: anyOf(RBAC, { rules: deny }) });
  if (allow) out.push({ name: RBAC_FILTER_NAMES.allow, typed_config: anyOf(RBAC, { rules: allow }) });
  out.push({ name: 'envoy.filters.http.router', typed_config: anyOf(ROUTER, {}) });
  return out;
}

function chain(suffix: string, filters: Array<Record<string, unknown>>, transport: 'tls' | 'raw_buffer' | '', tls: boolean, telemetry: Record<string, unknown>): Record<string, unknown> {
  const hcm = {
    ...telemetry,
    stat_prefix: `inbound-${suffix}`,
    route_config: {
      name: 'inbound',
      virtual_hosts: [{ name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, non_forwarding_action: {} }] }],
    },
    http_filters: filters,
  };
  return {
    name: `inbound-${suffix}`,
    ...(transport ? { filter_chain_match: { transport_protocol: transport } } : {}),
    filters: [{ name: `inbound-hcm-${suffix}`, typed_config: anyOf(HCM, hcm) }],
    ...(tls ? { transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: anyOf(TLS, downstreamTls()) } } : {}),
  };
}

/**
 * The inbound listener `name` for `workload`, or undefined when the name is not an inbound one.
 *
 * @example
 * ```ts
 * inboundListener('xds.istio.io/grpc/lds/inbound/0.0.0.0:9080', resources, { namespace: 'default', labels: { app: 'reviews' } });
 * ```
 */
export function inboundListener(name: string, resources: readonly IstioResource[], workload: WorkloadRef): GeneratedResource | undefined {
  const addr = parseInboundName(name);
  if (!addr) return undefined;
  const mode: ResolvedMtls = peerAuthnMode(resources, workload, addr.port);
  const filters = httpFilters(resources, workload);
  const telemetry = resolveTelemetry(resources, workload); // Telemetry's SERVER side: tracing, access logs, metrics
  const t = telemetry === undefined ? {} : sideHcmFields(telemetry, 'server');
  const chains = mode === 'STRICT' ? [chain('mtls', filters, '', true, t)]
    : mode === 'DISABLE' ? [chain('plaintext', filters, '', false, t)]
    : [chain('permissive-plaintext', filters, 'raw_buffer', false, t), chain('permissive-mtls', filters, 'tls', true, t)];
  return {
    name,
    message: {
      name,
      address: { socket_address: { address: addr.host, port_value: addr.port } },
      filter_chains: chains,
      ...(telemetry !== undefined ? { metadata: sideListenerMetadata(telemetry, 'server') } : {}),
    },
  };
}
