import { createSecureContext, type ConnectionOptions, type SecureContext, type TlsOptions } from 'node:tls';
import { checkPeerSpiffeId, type SpiffeIdMatcher } from './peer.js';

/**
 * TLS settings built from a workload identity (an SVID and its key) and a trust bundle, for
 * mesh mTLS: peers are authenticated by their SPIFFE ID, never by host name (Istio's
 * ISTIO_MUTUAL). TLS 1.2 is the floor, as Istio's default `minProtocolVersion`.
 */

/** Key, certificate chain and trust bundle, all PEM. */
export interface TlsIdentity {
  keyPem: string;
  /** Leaf first, then intermediates. */
  chainPem: readonly string[];
  /** Roots peers may chain to. */
  trustBundlePem: readonly string[];
}

const MIN_VERSION = 'TLSv1.2';

/**
 * A secure context holding the identity and trust bundle (swap it into a server with
 * `server.setSecureContext()` on rotation; existing connections keep theirs).
 *
 * @example
 * ```ts
 * server.setSecureContext(identitySecureOptions(svid));
 * ```
 */
export function identitySecureContext(identity: TlsIdentity): SecureContext {
  return createSecureContext(identitySecureOptions(identity));
}

/** The raw options behind {@link identitySecureContext}. */
export function identitySecureOptions(identity: TlsIdentity): { key: string; cert: string; ca: string; minVersion: typeof MIN_VERSION } {
  return { key: identity.keyPem, cert: identity.chainPem.join(''), ca: identity.trustBundlePem.join(''), minVersion: MIN_VERSION };
}

/**
 * Server options for mTLS: the client must present a certificate that chains to the bundle.
 * Who the client is comes from {@link peerSpiffeId} on the verified socket.
 *
 * @example
 * ```ts
 * const server = tls.createServer(mtlsServerOptions(svid), (socket) => peerSpiffeId(socket.getPeerX509Certificate()));
 * ```
 */
export function mtlsServerOptions(identity: TlsIdentity): TlsOptions {
  return { ...identitySecureOptions(identity), requestCert: true, rejectUnauthorized: true };
}

/**
 * Client options for mTLS to a peer that must be `expected` (a SPIFFE ID, a list, or a
 * predicate): the chain is verified against the bundle and the SPIFFE ID replaces the host name check.
 *
 * @example
 * ```ts
 * tls.connect({ host, port, ...mtlsClientOptions(svid, 'spiffe://cluster.local/ns/default/sa/reviews') });
 * ```
 */
export function mtlsClientOptions(identity: TlsIdentity, expected: SpiffeIdMatcher): ConnectionOptions {
  return { ...identitySecureOptions(identity), rejectUnauthorized: true, checkServerIdentity: (_host, cert) => checkPeerSpiffeId(cert, expected) };
}
