/** TLS helpers for mesh mTLS: secure contexts from an identity, SPIFFE peer checks, trust bootstrap. */
export { checkPeerSpiffeId, peerSpiffeId, sanEntries, uriSans, type PeerCertificateLike, type SpiffeIdMatcher } from './peer.js';
export { identitySecureContext, identitySecureOptions, mtlsClientOptions, mtlsServerOptions, type TlsIdentity } from './secure-context.js';
export { fetchPinnedRoot, pin, type PinnedRootOptions } from './pinned-root.js';
