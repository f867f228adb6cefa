/** The control server's certificate authority: CA directory, signer pool, join tokens, certificate service, TLS port. */
export { CertificateAuthority, type CertificateAuthorityOptions, type IssuedCertificate } from './authority.js';
export { CertificateService, type CertificateCall, type CertificateCaller } from './certificate-service.js';
export { JoinTokens, TOKEN_TTL, type JoinTokenRequest } from './tokens.js';
export { SecureServer, CONTROL_SERVER_NAME, type SecureServerOptions } from './secure-server.js';
export { SignerPool, type SignerPoolOptions } from './signer.js';
export { CA_FILES } from './files.js';
