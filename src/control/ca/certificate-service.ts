import { X509Certificate } from 'node:crypto';
import type { JoinTokenClaims } from '../../security/identity/join-token.js';
import { meshError } from '../../errors.js';
import { trace } from '../../internal/debug.js';
import { parseWorkloadSpiffeId } from '../../security/identity/spiffe-id.js';
import { peerSpiffeId } from '../../security/tls/peer.js';
import type { CertificateAuthority } from './authority.js';
import { readTokenId } from './token-id.js';

const log = trace('ca');
const MAX_ACTIVE = 32;
const MAX_WAITING = 10_000;

/** One CreateCertificate call, transport-neutral. */
export interface CertificateCall {
  /** PEM PKCS#10 CSR. */
  csr: string;
  /** Requested lifetime in seconds; 0 or absent means the CA's default. */
  validitySeconds?: number;
  /** A join token (the `authorization: Bearer …` value without the scheme). */
  token?: string;
  /** DER of the client certificate, present only when the TLS handshake verified it against the trust bundle. */
  peerCertificate?: Uint8Array;
}

/** Who the caller was found to be, and how. */
export interface CertificateCaller {
  spiffeId: string;
  via: 'client-certificate' | 'token';
  /**
   * `jti` of the token that authenticated the call, or that the client certificate was issued on
   * the authority of (the SVID carries it: token-id.ts); carried into the new SVID.
   */
  jti?: string;
  /** The verified token's claims, when a token authenticated the call. */
  claims?: JoinTokenClaims;
}

/**
 * The CA's certificate-signing door, independent of the transport (the secure port's gRPC
 * binding calls it). Authentication follows Istio's order (`security/pkg/server/ca/server.go`
 * with the client-certificate authenticator first, then the JWT one): a verified client SVID of
 * this trust domain renews its own identity; otherwise a join token grants the identity it
 * names. The identity always comes from the credential, never from the CSR, and a CSR asking
 * for anything else is refused (MESHLET_ERR_CA_IDENTITY). A revoked token (revocations.ts) is
 * refused, and so is a client certificate issued on its authority: renewals chain to the token
 * through the jti every SVID carries (MESHLET_ERR_CA_TOKEN_REVOKED).
 *
 * @example
 * ```ts
 * const service = new CertificateService(ca);
 * const chain = await service.createCertificate({ csr: csrPem, token });
 * // chain = [leaf, …intermediates, root bundle] as Istio's IstioCertificateResponse.cert_chain
 * ```
 */
export class CertificateService {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly ca: CertificateAuthority) {}

  /** Authenticates the caller, signs, and returns Istio's `cert_chain` order. */
  async createCertificate(call: CertificateCall): Promise<string[]> {
    await this.admit();
    try {
      const caller = await this.authenticate(call);
      // A revoked token joins nothing, and what was issued on its authority is not renewed.
      const revoked = caller.jti !== undefined ? await this.ca.revocations.check(caller.jti) : undefined;
      if (revoked) {
        log('refused %s (%s jti=%s): token revoked', caller.spiffeId, caller.via, caller.jti);
        throw meshError('MESHLET_ERR_CA_TOKEN_REVOKED', caller.via === 'token'
          ? `join token rejected: revoked at ${new Date(revoked.revokedAt).toISOString()}`
          : `not renewed: the join token this certificate was issued on the authority of was revoked at ${new Date(revoked.revokedAt).toISOString()}; join again with a new token`);
      }
      // A bounded token's use is taken before signing and given back if signing fails.
      const release = caller.claims ? await this.ca.tokenUses.reserve(caller.claims) : undefined;
      let issued;
      try {
        issued = await this.ca.signSvid(call.csr, caller.spiffeId, (call.validitySeconds ?? 0) * 1000, caller.jti);
      } catch (err) {
        await release?.();
        throw err;
      }
      log('issued %s (%s%s)', caller.spiffeId, caller.via, caller.jti ? ` jti=${caller.jti}` : '');
      return [...issued.chain, issued.roots.join('')];
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /**
   * At most MAX_ACTIVE calls do their event-loop work (token and certificate checks, handing the
   * job to a worker) at once; the rest wait their turn. A burst of CSRs arriving in one read
   * would otherwise run all their synchronous steps back to back in one microtask drain.
   */
  private admit(): Promise<void> {
    if (this.active < MAX_ACTIVE) {
      this.active++;
      return Promise.resolve();
    }
    if (this.waiting.length >= MAX_WAITING) return Promise.reject(meshError('MESHLET_ERR_CA_OVERLOADED', `${this.waiting.length} certificate requests are waiting`));
    return new Promise((resolve) => this.waiting.push(() => { this.active++; resolve(); }));
  }

  /** The caller's identity: its client certificate first, then its token. */
  async authenticate(call: CertificateCall): Promise<CertificateCaller> {
    if (call.peerCertificate) {
      const id = peerSpiffeId(new X509Certificate(call.peerCertificate));
      if ('spiffeId' in id) {
        const workload = parseWorkloadSpiffeId(id.spiffeId);
        if (typeof workload !== 'string' && workload.trustDomain === this.ca.trustDomain) {
          // The token the certificate was issued on the authority of travels into the renewal.
          const jti = readTokenId(Buffer.from(call.peerCertificate));
          return { spiffeId: id.spiffeId, via: 'client-certificate', ...(jti !== undefined ? { jti } : {}) };
        }
      }
    }
    if (!call.token) throw meshError('MESHLET_ERR_CA_TOKEN', 'no join token and no client certificate of this trust domain');
    const claims = await this.ca.tokens.verify(call.token);
    return { spiffeId: claims.spiffeId, via: 'token', jti: claims.jti, claims };
  }
}
