/**
 * Cluster transport sockets, as Istio builds them (`pilot/pkg/networking/core/cluster_tls.go`:
 * `applyUpstreamTLSSettings`, `buildAutoMtlsSettings`, `buildIstioMutualTLS`; the identity and
 * roots spelled as certificate provider instances like `pilot/pkg/networking/grpcgen/cds.go`, so
 * proxyless gRPC clients read them too):
 *
 * - DestinationRule `tls.mode: ISTIO_MUTUAL` → `transport_socket`: the mesh identity, the mesh
 *   roots, SANs = the service's workload identities (or `subjectAltNames`), SNI
 *   `outbound_.<port>_.<subset>_.<host>`.
 * - `SIMPLE` → TLS without a client certificate, the system CAs (or `caCertificates`), the
 *   rule's SNI and SANs.
 * - `MUTUAL` → the rule's `clientCertificate`/`privateKey` (and `caCertificates`) as DataSource
 *   filenames, as Envoy gets them; the client reads the files (security/tls/tls-files.ts), and a
 *   client that cannot would NACK rather than downgrade.
 * - `DISABLE` → nothing (plaintext).
 * - unset → auto mTLS: `transport_socket_matches` `tlsMode-istio` (endpoints whose metadata
 *   `envoy.transport_socket_match` says `tlsMode: istio`) and `tlsMode-disabled` (plaintext).
 *   Emitted only when some endpoint of the cluster has an identity: with none, every endpoint
 *   would take the plaintext match, which is what no matches mean.
 */
import type { ClientTLSSettings } from '../../config/types.js';
import type { ClusterPlan } from './plan.js';
import { anyOf, toStruct } from './proto-helpers.js';

const UPSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const RAW_BUFFER = 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
/** Istio's ALPN inside the mesh (`util.ALPNInMeshWithMxc`); h2 added for HTTP/2 clusters. */
const ALPN_MESH = ['istio-peer-exchange', 'istio'];

/** Istio's SNI for mesh mTLS (`model.BuildDNSSrvSubsetKey`). */
export function meshSni(p: ClusterPlan): string {
  return `outbound_.${p.port.number}_.${p.subset}_.${p.service.hostname}`;
}

/** SPIFFE IDs of the cluster's endpoints that have one (Istio `push.ServiceAccounts`), sorted. */
export function workloadIdentities(p: ClusterPlan): string[] {
  return [...new Set(p.endpoints.map((e) => e.identity).filter((i): i is string => i !== undefined))].sort();
}

function http2(p: ClusterPlan): boolean {
  return p.port.protocol === 'GRPC' || p.port.protocol === 'HTTP2';
}

function sans(names: readonly string[]): Array<Record<string, unknown>> {
  return names.map((exact) => ({ exact }));
}

function tlsSocket(context: Record<string, unknown>): Record<string, unknown> {
  return { name: 'envoy.transport_sockets.tls', typed_config: anyOf(UPSTREAM_TLS, context) };
}

/** The mesh's mTLS socket (ISTIO_MUTUAL). */
export function istioMutualSocket(p: ClusterPlan, tls?: ClientTLSSettings): Record<string, unknown> {
  return tlsSocket({
    common_tls_context: {
      tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
      combined_validation_context: {
        default_validation_context: {
          ca_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
          match_subject_alt_names: sans(tls?.subjectAltNames ?? workloadIdentities(p)),
        },
      },
      alpn_protocols: http2(p) ? [...ALPN_MESH, 'h2'] : ALPN_MESH,
    },
    sni: tls?.sni ?? meshSni(p),
  });
}

function userTlsSocket(p: ClusterPlan, tls: ClientTLSSettings): Record<string, unknown> {
  const validation: Record<string, unknown> = { match_subject_alt_names: sans(tls.subjectAltNames ?? []) };
  if (tls.caCertificates) validation.trusted_ca = { filename: tls.caCertificates };
  const common: Record<string, unknown> = { validation_context: validation };
  if (tls.mode === 'MUTUAL' && tls.clientCertificate && tls.privateKey) {
    common.tls_certificates = [{ certificate_chain: { filename: tls.clientCertificate }, private_key: { filename: tls.privateKey } }];
  }
  if (http2(p)) common.alpn_protocols = ['h2'];
  return tlsSocket({ common_tls_context: common, ...(tls.sni ? { sni: tls.sni } : {}) });
}

/** The `transport_socket` / `transport_socket_matches` fields of a cluster (none: plaintext). */
export function transportFields(p: ClusterPlan): Record<string, unknown> {
  const tls = p.policy.tls;
  switch (tls?.mode) {
    case 'DISABLE':
      return {};
    case 'ISTIO_MUTUAL':
      return { transport_socket: istioMutualSocket(p, tls) };
    case 'SIMPLE':
    case 'MUTUAL':
      return { transport_socket: userTlsSocket(p, tls) };
    default:
      if (workloadIdentities(p).length === 0) return {};
      return {
        transport_socket_matches: [
          { name: 'tlsMode-istio', match: toStruct({ tlsMode: 'istio' }), transport_socket: istioMutualSocket(p) },
          { name: 'tlsMode-disabled', match: toStruct({}), transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: anyOf(RAW_BUFFER) } },
        ],
      };
  }
}
