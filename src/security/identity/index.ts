/** Workload identity: SPIFFE IDs, keys and CSRs, join tokens, SVID lint, the rotating IdentityManager. */
export { DEFAULT_TRUST_DOMAIN, parseSpiffeId, parseWorkloadSpiffeId, workloadSpiffeId, type SpiffeId, type WorkloadIdentity } from './spiffe-id.js';
export { lintSvid, lintSvidSignedBy, type SvidLintOptions, type SvidLintResult } from './svid-lint.js';
export { createCsr, generateWorkloadKey, type CsrOptions, type WorkloadKey } from './keys.js';
export { decodeJoinToken, JOIN_TOKEN_TYPE, type JoinTokenClaims } from './join-token.js';
export { certificateFingerprint, normalizeFingerprint } from './pem.js';
export { verifyChain } from './chain.js';
export { acceptChain, type AcceptOptions, type AcceptedChain } from './accept.js';
export { requestCertificate, type CertificateRequest, type CertificateRequester } from './ca-client.js';
export { retryDelay, rotationDelay, ROTATION_DEFAULTS, type RotationPolicy } from './rotation.js';
export { IdentityManager, type IdentityManagerOptions, type Svid, type RotateEvent, type TrustChangeEvent, type IdentityErrorEvent } from './manager.js';
