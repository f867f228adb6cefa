/**
 * Transport model: how a cluster talks to its endpoints (Envoy `transport_socket` and
 * `transport_socket_matches` with an UpstreamTlsContext). Plain data decoded by
 * src/xds/resources/cluster.ts; the adapters turn a {@link TransportModel} into an undici
 * connector or grpc-js credentials (src/security/tls).
 */

/** TLS to an upstream. `identity`: present this workload's SVID (mTLS); `trust`: what the server must chain to. */
export interface TlsTransportModel {
  readonly kind: 'tls';
  /** SNI; Istio's `outbound_.<port>_.<subset>_.<host>` for mesh mTLS. Empty: none. */
  readonly sni: string;
  /** Present the mesh identity (Envoy `tls_certificate_provider_instance` / SDS `default`). */
  readonly identity: boolean;
  /** `mesh`: the mesh trust bundle (ROOTCA); `system`: Node's default CAs. */
  readonly trust: 'mesh' | 'system';
  /** `match_subject_alt_names` exact values (SPIFFE IDs or DNS names); empty: any peer the trust accepts. */
  readonly subjectAltNames: readonly string[];
  /** ALPN to offer (Istio adds `istio-peer-exchange`, `istio`; `h2` for HTTP/2 clusters). */
  readonly alpn: readonly string[];
  /**
   * Files named by a DestinationRule (`SIMPLE`/`MUTUAL`: `clientCertificate`, `privateKey`,
   * `caCertificates`), read by the client: the certificate and key it presents instead of the
   * mesh identity, and the CAs the server must chain to instead of the system's.
   */
  readonly files?: TlsFilesModel;
}

/** Paths from Envoy DataSource `filename`s. */
export interface TlsFilesModel {
  readonly certificateChain?: string;
  readonly privateKey?: string;
  readonly trustedCa?: string;
}

export type TransportModel = { readonly kind: 'plaintext' } | TlsTransportModel;

/** One `transport_socket_matches` entry: endpoints whose `envoy.transport_socket_match` metadata has every `match` key/value. */
export interface TransportMatchModel {
  readonly name: string;
  readonly match: Readonly<Record<string, string>>;
  readonly transport: TransportModel;
}

/** A cluster's transport: the matches (first wins), then the default socket. */
export interface ClusterTransportModel {
  readonly matches: readonly TransportMatchModel[];
  /** `transport_socket`; unset: plaintext. */
  readonly socket?: TransportModel;
}

/** Plaintext: what an endpoint gets when nothing says otherwise. */
export const PLAINTEXT: TransportModel = Object.freeze({ kind: 'plaintext' });

/**
 * The transport of one endpoint (Envoy `TransportSocketMatcherImpl::resolve`): the first match
 * whose criteria all equal the endpoint's `envoy.transport_socket_match` metadata, else the
 * cluster's socket, else plaintext.
 *
 * @example
 * ```ts
 * selectTransport(cluster.transport, { tlsMode: 'istio' }); // the tlsMode-istio mTLS socket
 * ```
 */
export function selectTransport(transport: ClusterTransportModel | undefined, endpointMatch: Readonly<Record<string, unknown>> | undefined): TransportModel {
  if (!transport) return PLAINTEXT;
  for (const m of transport.matches) {
    let ok = true;
    for (const key in m.match) if (String(endpointMatch?.[key] ?? '\0') !== m.match[key]) { ok = false; break; }
    if (ok) return m.transport;
  }
  return transport.socket ?? PLAINTEXT;
}
