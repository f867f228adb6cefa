import { X509Certificate } from 'node:crypto';
import { meshError } from '../../errors.js';
import { validity } from '../../security/identity/chain.js';
import { createCsr, generateWorkloadKey } from '../../security/identity/keys.js';
import { certificateFingerprint } from '../../security/identity/pem.js';
import { certPem, loadOrCreateCa, ROOT_TTL_MS, type CaMaterial } from './files.js';
import { createSigner, type Signer, type SignJob } from './sign.js';
import { SignerPool } from './signer.js';
import { JoinTokens, type JoinTokenRequest } from './tokens.js';

/** Options of {@link CertificateAuthority.open}. */
export interface CertificateAuthorityOptions {
  /** The CA directory (created 0700 when missing). */
  dir: string;
  /** Trust domain. Default: the one in the CA's root certificate, else `cluster.local`. */
  trustDomain?: string;
  /** Signing worker threads. Default: available cores − 1 (1–8). 0 signs on the event loop (benchmarks and tests only). */
  signerThreads?: number;
  /** Lifetime of an SVID when the request names none. Default 24 h (Istio DEFAULT_WORKLOAD_CERT_TTL). */
  defaultTtlMs?: number;
  /** Longest SVID lifetime a request may ask for. Default 90 days (Istio MAX_WORKLOAD_CERT_TTL). */
  maxTtlMs?: number;
}

/** A signed workload certificate as the CA hands it out. */
export interface IssuedCertificate {
  /** Leaf first, then the intermediates up to (not including) the root. */
  chain: string[];
  /** The trust bundle: every root a peer may chain to. */
  roots: string[];
}

// Istio security/pkg/pki/util/generate_cert.go ClockSkewGracePeriod: certificates are valid from
// two minutes before issuance.
const CLOCK_SKEW_MS = 2 * 60_000;

/**
 * The mesh's certificate authority: a self-signed root or an Istio plug-in intermediate read from
 * the CA directory, a signer off the event loop, and the join-token key.
 *
 * @example
 * ```ts
 * const ca = await CertificateAuthority.open({ dir: './ca' });
 * const token = await ca.tokens.create({ namespace: 'default', serviceAccount: 'reviews' });
 * const { chain, roots } = await ca.signSvid(csrPem, 'spiffe://cluster.local/ns/default/sa/reviews');
 * await ca.close();
 * ```
 */
export class CertificateAuthority {
  readonly tokens: JoinTokens;
  /** SHA-256 fingerprint of the root that anchors the signing chain (what join tokens pin). */
  readonly rootFingerprint: string;
  private readonly intermediatesPem: string[];
  private readonly rootsPem: string[];
  private readonly signingNotAfter: number;

  private constructor(
    private readonly material: CaMaterial,
    private readonly sign: (job: SignJob) => Promise<string>,
    private readonly pool: SignerPool | undefined,
    private readonly options: CertificateAuthorityOptions,
  ) {
    this.rootFingerprint = certificateFingerprint(material.roots[0]!);
    this.intermediatesPem = material.intermediates.map(certPem);
    this.rootsPem = material.roots.map(certPem);
    this.signingNotAfter = validity(material.signingCert).notAfter;
    this.tokens = new JoinTokens(material.tokenKey, material.trustDomain, this.rootFingerprint);
  }

  /** Loads (or creates) the CA in `options.dir`. Throws MESHLET_ERR_CA_DIR when the directory is unusable. */
  static async open(options: CertificateAuthorityOptions): Promise<CertificateAuthority> {
    const material = await loadOrCreateCa(options.dir, options.trustDomain !== undefined ? { trustDomain: options.trustDomain } : {});
    const init = {
      signingKeyPkcs8: material.signingKey.export({ type: 'pkcs8', format: 'der' }),
      signingCertDer: material.signingCert.raw,
    };
    // Built once here as well: a key the signer cannot use fails now, not on the first CSR.
    const onLoop: Signer = await createSigner(init);
    const threads = options.signerThreads;
    const pool = threads === 0 ? undefined : new SignerPool({ init, ...(threads !== undefined ? { threads } : {}) });
    return new CertificateAuthority(material, pool ? (job) => pool.sign(job) : onLoop, pool, options);
  }

  get trustDomain(): string {
    return this.material.trustDomain;
  }

  /** `self-signed` (root in the CA directory) or `plug-in` (an Istio cacerts intermediate). */
  get mode(): CaMaterial['mode'] {
    return this.material.mode;
  }

  /** Signing worker threads (0: signing on the event loop). */
  get signerThreads(): number {
    return this.pool?.threads ?? 0;
  }

  /** The trust bundle as PEM, anchoring root first. */
  roots(): string[] {
    return [...this.rootsPem];
  }

  /** The signing root or intermediate certificate. */
  signingCertificate(): X509Certificate {
    return this.material.signingCert;
  }

  /**
   * Signs a CSR as an X.509-SVID for `spiffeId` (already authorized by the caller). `ttlMs` ≤ 0
   * or absent means the default; more than the maximum is MESHLET_ERR_CA_CSR (Istio refuses too).
   */
  async signSvid(csrPem: string, spiffeId: string, ttlMs?: number): Promise<IssuedCertificate> {
    const maxTtl = this.options.maxTtlMs ?? 90 * 24 * 3600_000;
    const ttl = ttlMs === undefined || ttlMs <= 0 ? this.options.defaultTtlMs ?? 24 * 3600_000 : ttlMs;
    if (ttl > maxTtl) throw meshError('MESHLET_ERR_CA_CSR', `requested lifetime ${Math.round(ttl / 1000)} s is more than the maximum ${Math.round(maxTtl / 1000)} s`);
    const leaf = await this.sign({ csrPem, profile: { kind: 'svid', spiffeId }, ...this.window(ttl) });
    return { chain: [leaf, ...this.intermediatesPem], roots: this.roots() };
  }

  /**
   * A fresh key and certificate for the control server's TLS port (DNS and IP SANs, serverAuth),
   * valid as long as Istio's istiod DNS certificate (its CA's lifetime, clamped to the signing
   * certificate). The chain includes the anchoring root so a client holding only a join token's
   * fingerprint can find and pin it.
   */
  async issueServerCertificate(names: { dnsNames: string[]; ipAddresses: string[] }): Promise<{ keyPem: string; chainPem: string }> {
    const key = await generateWorkloadKey();
    const csrPem = await createCsr(key);
    const leaf = await this.sign({ csrPem, profile: { kind: 'server', ...names }, ...this.window(ROOT_TTL_MS) });
    return { keyPem: key.privateKeyPem, chainPem: [leaf, ...this.intermediatesPem, this.rootsPem[0]!].join('') };
  }

  /** Shorthand for `tokens.create`. */
  createJoinToken(request: JoinTokenRequest): Promise<string> {
    return this.tokens.create(request);
  }

  /** Stops the signing workers. */
  async close(): Promise<void> {
    await this.pool?.close();
  }

  private window(ttlMs: number): { notBefore: number; notAfter: number } {
    const now = Date.now();
    if (now >= this.signingNotAfter) throw meshError('MESHLET_ERR_CA_DIR', `the CA signing certificate expired at ${new Date(this.signingNotAfter).toISOString()}`);
    return { notBefore: now - CLOCK_SKEW_MS, notAfter: Math.min(now + ttlMs, this.signingNotAfter) };
  }
}
