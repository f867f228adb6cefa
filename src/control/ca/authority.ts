import { X509Certificate } from 'node:crypto';
import { meshError } from '../../errors.js';
import { validity } from '../../security/identity/chain.js';
import { createCsr, generateWorkloadKey } from '../../security/identity/keys.js';
import { certificateFingerprint } from '../../security/identity/pem.js';
import { certPem, loadOrCreateCa, ROOT_TTL_MS, type CaMaterial } from './files.js';
import { createSigner, type Signer, type SignJob } from './sign.js';
import { SignerPool } from './signer.js';
import { JoinTokens, type JoinTokenRequest } from './tokens.js';
import { TokenUses } from './token-uses.js';
import { TokenRevocations, type Revocation } from './revocations.js';
import { decodeJoinToken } from '../../security/identity/join-token.js';
import { trace } from '../../internal/debug.js';
import { Emitter, type Disposable } from '../../internal/events.js';

const log = trace('ca');

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
// Istio MAX_WORKLOAD_CERT_TTL.
const DEFAULT_MAX_TTL_MS = 90 * 24 * 3600_000;

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
  private current: Generation;
  private readonly changed = new Emitter<CaChange>((err) => log('CA change listener threw: %o', err));
  private reloading: Promise<CaChange> | undefined;

  private constructor(
    first: Generation,
    private readonly options: CertificateAuthorityOptions,
    /** Uses of bounded join tokens (`maxUses`). */
    readonly tokenUses: TokenUses,
    /** Revoked join tokens: refused as credentials, and so are the SVIDs issued on their authority. */
    readonly revocations: TokenRevocations,
  ) {
    this.current = first;
  }

  /** Join tokens (signed with the token key; new ones pin the current anchoring root). */
  get tokens(): JoinTokens {
    return this.current.tokens;
  }

  /** What the CA directory held at the last (re)load; tests read the token key from it. */
  private get material(): CaMaterial {
    return this.current.material;
  }

  /** SHA-256 fingerprint of the root that anchors the signing chain (what join tokens pin). */
  get rootFingerprint(): string {
    return this.current.rootFingerprint;
  }

  /** Loads (or creates) the CA in `options.dir`. Throws MESHLET_ERR_CA_DIR when the directory is unusable. */
  static async open(options: CertificateAuthorityOptions): Promise<CertificateAuthority> {
    const first = await loadGeneration(options);
    try {
      const maxSvidTtlMs = options.maxTtlMs ?? DEFAULT_MAX_TTL_MS;
      return new CertificateAuthority(first, options, await TokenUses.open(options.dir), await TokenRevocations.open(options.dir, { maxSvidTtlMs }));
    } catch (err) {
      await first.pool?.close();
      throw err;
    }
  }

  /**
   * Re-reads the CA directory and signs with what it now holds — the steps of a root rotation
   * (Istio's plug-in CA rotation, `security/pkg/pki/ca` with istiod's cacerts watch): (1) the new
   * root appended to root-cert.pem, so every workload's next SVID comes with both roots; (2) the
   * new key and root (or intermediate) in place, the old root still listed; (3) the old root
   * removed. Each step reaches a workload with its next certificate (`IdentityManager.rotateNow()`
   * makes that immediate). Jobs already handed to the old signer finish with it. The trust domain
   * may not change (MESHLET_ERR_CA_DIR); a directory that fails to load leaves the CA as it was.
   *
   * @example
   * ```ts
   * await appendFile(join(dir, 'root-cert.pem'), newRootPem);
   * const { rootsChanged } = await ca.reload(); // the next SVIDs carry both roots
   * ```
   */
  reload(): Promise<CaChange> {
    const run = async (): Promise<CaChange> => {
      const next = await loadGeneration(this.options);
      const previous = this.current;
      if (next.material.trustDomain !== previous.material.trustDomain) {
        await next.pool?.close();
        throw meshError('MESHLET_ERR_CA_DIR', `the CA directory now holds trust domain "${next.material.trustDomain}"; this CA serves "${previous.material.trustDomain}"`);
      }
      this.current = next;
      retire(previous);
      const change: CaChange = {
        rootsChanged: previous.rootsPem.join('') !== next.rootsPem.join(''),
        signerChanged: previous.material.signingCert.fingerprint256 !== next.material.signingCert.fingerprint256,
      };
      log('reloaded %s: roots %s, signer %s', this.options.dir, change.rootsChanged ? 'changed' : 'same', change.signerChanged ? 'changed' : 'same');
      this.changed.fire(change);
      return change;
    };
    // One reload at a time, in order: two quick edits end in the state of the last.
    const p = (this.reloading ?? Promise.resolve()).catch(() => undefined).then(run);
    this.reloading = p;
    return p;
  }

  /** Runs after every successful {@link reload} (the secure port re-issues its certificate). */
  onChange(fn: (change: CaChange) => void): Disposable {
    return this.changed.on(fn);
  }

  get trustDomain(): string {
    return this.current.material.trustDomain;
  }

  /** `self-signed` (root in the CA directory) or `plug-in` (an Istio cacerts intermediate). */
  get mode(): CaMaterial['mode'] {
    return this.current.material.mode;
  }

  /** Signing worker threads (0: signing on the event loop). */
  get signerThreads(): number {
    return this.current.pool?.threads ?? 0;
  }

  /** The trust bundle as PEM, anchoring root first. */
  roots(): string[] {
    return [...this.current.rootsPem];
  }

  /** The signing root or intermediate certificate. */
  signingCertificate(): X509Certificate {
    return this.current.material.signingCert;
  }

  /**
   * Signs a CSR as an X.509-SVID for `spiffeId` (already authorized by the caller). `ttlMs` ≤ 0
   * or absent means the default; more than the maximum is MESHLET_ERR_CA_CSR (Istio refuses too).
   * `tokenId`: the jti of the join token the SVID is issued on the authority of, carried in the
   * certificate (token-id.ts) so its renewals can be refused once that token is revoked.
   */
  async signSvid(csrPem: string, spiffeId: string, ttlMs?: number, tokenId?: string): Promise<IssuedCertificate> {
    const maxTtl = this.options.maxTtlMs ?? DEFAULT_MAX_TTL_MS;
    const ttl = ttlMs === undefined || ttlMs <= 0 ? this.options.defaultTtlMs ?? 24 * 3600_000 : ttlMs;
    if (ttl > maxTtl) throw meshError('MESHLET_ERR_CA_CSR', `requested lifetime ${Math.round(ttl / 1000)} s is more than the maximum ${Math.round(maxTtl / 1000)} s`);
    const g = this.current;
    const profile = { kind: 'svid' as const, spiffeId, ...(tokenId !== undefined ? { tokenId } : {}) };
    const leaf = await signWith(g, { csrPem, profile, ...window(g, ttl) });
    return { chain: [leaf, ...g.intermediatesPem], roots: [...g.rootsPem] };
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
    const g = this.current;
    const leaf = await signWith(g, { csrPem, profile: { kind: 'server', ...names }, ...window(g, ROOT_TTL_MS) });
    return { keyPem: key.privateKeyPem, chainPem: [leaf, ...g.intermediatesPem, g.rootsPem[0]!].join('') };
  }

  /**
   * Revokes a join token given as the token itself or its `jti` (see revocations.ts for what
   * that stops). A token must be this CA's (signature, issuer, trust domain: else
   * MESHLET_ERR_CA_TOKEN); one that already expired needs no revocation and is reported as such.
   * For a bare jti, the expiry comes from the bounded-use ledger when the CA counted its uses,
   * else the longest a token can live is assumed.
   *
   * @example
   * ```ts
   * const { revocation, added } = await ca.revokeToken({ token });
   * ```
   */
  async revokeToken(what: { token?: string; jti?: string }): Promise<{ revocation?: Revocation; added: boolean; expired?: true }> {
    if ((what.token === undefined) === (what.jti === undefined)) throw meshError('MESHLET_ERR_USAGE', 'revoke a token by its text or its jti (one of the two)');
    if (what.jti !== undefined) {
      const tokenExpiresAt = this.tokenUses.expiresAt(what.jti);
      return this.revocations.revoke({ jti: what.jti, ...(tokenExpiresAt !== undefined ? { tokenExpiresAt } : {}) });
    }
    // An expired token is refused anyway; verifying it would only say "expired".
    if (decodeJoinToken(what.token!).expiresAt + 120_000 < Date.now()) return { added: false, expired: true };
    const claims = await this.tokens.verify(what.token!);
    return this.revocations.revoke({ jti: claims.jti, tokenExpiresAt: claims.expiresAt, spiffeId: claims.spiffeId });
  }

  /** Shorthand for `tokens.create`. */
  createJoinToken(request: JoinTokenRequest): Promise<string> {
    return this.tokens.create(request);
  }

  /** Stops the signing workers. */
  async close(): Promise<void> {
    this.changed.clear();
    await this.reloading?.catch(() => undefined);
    await this.current.pool?.close();
  }
}

/** What a {@link CertificateAuthority.reload} changed. */
export interface CaChange {
  /** The trust bundle (root-cert.pem) differs. */
  rootsChanged: boolean;
  /** The signing certificate differs (a new key or intermediate). */
  signerChanged: boolean;
}

/** One loaded state of the CA directory and the signer built for it. */
interface Generation {
  material: CaMaterial;
  sign: (job: SignJob) => Promise<string>;
  pool: SignerPool | undefined;
  rootFingerprint: string;
  intermediatesPem: string[];
  rootsPem: string[];
  signingNotAfter: number;
  tokens: JoinTokens;
  /** Jobs in flight on this generation's signer, and whether a reload replaced it. */
  active: number;
  retired: boolean;
}

async function loadGeneration(options: CertificateAuthorityOptions): Promise<Generation> {
  const material = await loadOrCreateCa(options.dir, options.trustDomain !== undefined ? { trustDomain: options.trustDomain } : {});
  const init = {
    signingKeyPkcs8: material.signingKey.export({ type: 'pkcs8', format: 'der' }),
    signingCertDer: material.signingCert.raw,
  };
  // Built once here as well: a key the signer cannot use fails now, not on the first CSR.
  const onLoop: Signer = await createSigner(init);
  const threads = options.signerThreads;
  const pool = threads === 0 ? undefined : new SignerPool({ init, ...(threads !== undefined ? { threads } : {}) });
  const rootFingerprint = certificateFingerprint(material.roots[0]!);
  return {
    material,
    sign: pool ? (job) => pool.sign(job) : onLoop,
    pool,
    rootFingerprint,
    intermediatesPem: material.intermediates.map(certPem),
    rootsPem: material.roots.map(certPem),
    signingNotAfter: validity(material.signingCert).notAfter,
    tokens: new JoinTokens(material.tokenKey, material.trustDomain, rootFingerprint),
    active: 0,
    retired: false,
  };
}

async function signWith(g: Generation, job: SignJob): Promise<string> {
  g.active++;
  try {
    return await g.sign(job);
  } finally {
    if (--g.active === 0 && g.retired) void g.pool?.close();
  }
}

/** A replaced generation's workers stop once its last job is done. */
function retire(g: Generation): void {
  g.retired = true;
  if (g.active === 0) void g.pool?.close();
}

function window(g: Generation, ttlMs: number): { notBefore: number; notAfter: number } {
  const now = Date.now();
  if (now >= g.signingNotAfter) throw meshError('MESHLET_ERR_CA_DIR', `the CA signing certificate expired at ${new Date(g.signingNotAfter).toISOString()}`);
  return { notBefore: now - CLOCK_SKEW_MS, notAfter: Math.min(now + ttlMs, g.signingNotAfter) };
}
