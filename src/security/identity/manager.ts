import { X509Certificate } from 'node:crypto';
import { isMeshError, meshError, type MeshError } from '../../errors.js';
import { systemClock, type Clock } from '../../internal/clock.js';
import { trace } from '../../internal/debug.js';
import { Emitter, type Disposable } from '../../internal/events.js';
import { fetchPinnedRoot } from '../tls/pinned-root.js';
import { requestCertificate, type CertificateRequester } from './ca-client.js';
import { acceptChain } from './accept.js';
import { decodeJoinToken, type JoinTokenClaims } from './join-token.js';
import { createCsr, generateWorkloadKey } from './keys.js';
import { certificateFingerprint } from './pem.js';
import { retryDelay, rotationDelay, ROTATION_DEFAULTS, type RotationPolicy } from './rotation.js';

const log = trace('identity');

/** An X.509-SVID with its key, as the mesh uses it for TLS. */
export interface Svid {
  spiffeId: string;
  keyPem: string;
  /** Leaf first, then intermediates. */
  chainPem: string[];
  /** Roots peers may chain to. */
  trustBundlePem: string[];
  /** Validity of the leaf, epoch ms (wall clock). */
  notBefore: number;
  notAfter: number;
  serialNumber: string;
}

/** Options of {@link IdentityManager}. */
export interface IdentityManagerOptions extends Partial<RotationPolicy> {
  /** The join token, or a function that reads it (e.g. again from a file on every attempt). */
  token: string | (() => string | Promise<string>);
  /** `host:port` of the control server's secure port. */
  controlPlane: string;
  /** Name the control server's certificate carries. Default `istiod.istio-system.svc`. */
  serverName?: string;
  /** Requested SVID lifetime in seconds; default: the CA's (24 h). */
  ttlSeconds?: number;
  /** Per-request timeout, ms. Default 10 s. */
  requestTimeoutMs?: number;
  clock?: Clock;
  /** Uniform [0, 1) source for the jitter. Default Math.random. */
  random?: () => number;
  /** Transport seam (tests); default: gRPC to the secure port. */
  requestCertificate?: CertificateRequester;
  /** Trust bootstrap seam (tests); default: {@link fetchPinnedRoot} on the secure port. */
  fetchRoot?: (claims: JoinTokenClaims) => Promise<string>;
}

/** Payload of the `rotate` event. */
export interface RotateEvent {
  previous: Svid | undefined;
  current: Svid;
}

/** Payload of the `trust-change` event. */
export interface TrustChangeEvent {
  previous: string[];
  current: string[];
}

/** Payload of the `error` event: a failed attempt and when the next one runs. */
export interface IdentityErrorEvent {
  error: MeshError;
  retryInMs: number;
}

const CONTROL_SERVER_NAME = 'istiod.istio-system.svc';

/**
 * Obtains and rotates this workload's X.509-SVID from the control server's CA with a join token
 * (Istio's SDS agent + Citadel client, in-process). The identity is the token's; the first
 * response must chain to the root the token pins and carry exactly that SPIFFE ID. Rotation runs
 * at ~50% of the lifetime ±1% (Istio SECRET_GRACE_PERIOD_RATIO / _JITTER); renewals authenticate
 * with the current certificate (and the token while it is valid). A failed renewal keeps the
 * current certificate and retries after 70% of its remaining life, clamped to 10 s – 24 h
 * (linkerd2-proxy `identity-client/src/certify.rs` refresh_in), so retries speed up toward
 * expiry; before the first SVID it backs off from 1 s to 10 s.
 *
 * @example
 * ```ts
 * const identity = new IdentityManager({ token, controlPlane: '127.0.0.1:15012' });
 * identity.on('rotate', ({ current }) => server.setSecureContext(identitySecureOptions(current)));
 * const svid = await identity.start();
 * // …
 * identity.close();
 * ```
 */
export class IdentityManager {
  private id: string;
  private readonly rotated = new Emitter<RotateEvent>((err) => log('rotate listener threw: %o', err));
  private readonly trustChanged = new Emitter<TrustChangeEvent>((err) => log('trust-change listener threw: %o', err));
  private readonly failed = new Emitter<IdentityErrorEvent>((err) => log('error listener threw: %o', err));
  private readonly clock: Clock;
  private readonly policy: RotationPolicy;
  private svid: Svid | undefined;
  /** When the current SVID expires, on the manager's clock. */
  private expiresAt = 0;
  private trust: string[] = [];
  private timer: unknown;
  private attempt: Promise<Svid> | undefined;
  private started: Promise<Svid> | undefined;
  private resolveStarted?: (svid: Svid) => void;
  private failures = 0;
  private closed = false;

  constructor(private readonly options: IdentityManagerOptions) {
    this.clock = options.clock ?? systemClock;
    this.policy = {
      graceRatio: options.graceRatio ?? ROTATION_DEFAULTS.graceRatio,
      graceRatioJitter: options.graceRatioJitter ?? ROTATION_DEFAULTS.graceRatioJitter,
      minRefreshMs: options.minRefreshMs ?? ROTATION_DEFAULTS.minRefreshMs,
      maxRefreshMs: options.maxRefreshMs ?? ROTATION_DEFAULTS.maxRefreshMs,
      initialBackoffMs: options.initialBackoffMs ?? ROTATION_DEFAULTS.initialBackoffMs,
    };
    if (typeof options.token !== 'string' && typeof options.token !== 'function') throw meshError('MESHLET_ERR_CA_TOKEN', 'token must be a string or a function returning one');
    // A literal token is checked now: a typo fails at construction, not in the background.
    this.id = typeof options.token === 'string' ? decodeJoinToken(options.token).spiffeId : '';
  }

  /** The SPIFFE ID the token grants ('' until a token read from a function has been seen). */
  get spiffeId(): string {
    return this.id;
  }

  /** Starts obtaining the SVID; resolves with the first one (retrying in the background until then). */
  start(): Promise<Svid> {
    if (this.started) return this.started;
    this.started = new Promise<Svid>((resolve) => { this.resolveStarted = resolve; });
    void this.run().catch(() => {});
    return this.started;
  }

  /** The current SVID (possibly expired while the CA is unreachable), or `undefined` before the first. */
  current(): Svid | undefined {
    return this.svid;
  }

  /** The trust bundle the current SVID came with. */
  trustBundle(): string[] {
    return [...this.trust];
  }

  /** Rotates now (e.g. after a trust change was announced); resolves with the new SVID. */
  rotateNow(): Promise<Svid> {
    this.clock.clearTimeout(this.timer);
    return this.run();
  }

  on(event: 'rotate', fn: (e: RotateEvent) => void): Disposable;
  on(event: 'trust-change', fn: (e: TrustChangeEvent) => void): Disposable;
  on(event: 'error', fn: (e: IdentityErrorEvent) => void): Disposable;
  on(event: 'rotate' | 'trust-change' | 'error', fn: (e: never) => void): Disposable {
    if (event === 'rotate') return this.rotated.on(fn as (e: RotateEvent) => void);
    if (event === 'trust-change') return this.trustChanged.on(fn as (e: TrustChangeEvent) => void);
    return this.failed.on(fn as (e: IdentityErrorEvent) => void);
  }

  /** Stops rotating. The current SVID stays readable. */
  close(): void {
    this.closed = true;
    this.clock.clearTimeout(this.timer);
    this.rotated.clear();
    this.trustChanged.clear();
    this.failed.clear();
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => void this.run().catch(() => {}), delayMs);
  }

  private run(): Promise<Svid> {
    this.attempt ??= this.obtain().then(
      (svid) => {
        this.attempt = undefined;
        this.failures = 0;
        this.schedule(rotationDelay(this.policy, this.expiresAt - this.clock.now(), this.random()));
        this.resolveStarted?.(svid);
        this.resolveStarted = undefined;
        return svid;
      },
      (err: unknown) => {
        this.attempt = undefined;
        this.failures++;
        const error = isMeshError(err) ? err : meshError('MESHLET_ERR_IDENTITY', (err as Error)?.message ?? String(err), { cause: err });
        const retryInMs = retryDelay(this.policy, this.svid ? this.expiresAt - this.clock.now() : undefined, this.failures, this.random());
        log('attempt failed (%s); next in %d ms', error.message, retryInMs);
        this.schedule(retryInMs);
        this.failed.fire({ error, retryInMs });
        throw error;
      },
    );
    return this.attempt;
  }

  private async obtain(): Promise<Svid> {
    const token = typeof this.options.token === 'string' ? this.options.token : await this.options.token();
    const claims = decodeJoinToken(token);
    if (this.id && claims.spiffeId !== this.id) {
      throw meshError('MESHLET_ERR_CA_TOKEN', `the token now names ${claims.spiffeId}; this workload is ${this.id}`);
    }
    this.id = claims.spiffeId;
    const anchors = this.trust.length ? this.trust : [await this.bootstrapRoot(claims)];
    const key = await generateWorkloadKey();
    const csr = await createCsr(key, { uris: [claims.spiffeId] });
    const now = this.clock.now();
    const renewWith = this.svid && now < this.expiresAt ? { keyPem: this.svid.keyPem, chainPem: this.svid.chainPem.join('') } : undefined;
    const tokenValid = now < claims.expiresAt;
    if (!renewWith && !tokenValid) throw meshError('MESHLET_ERR_CA_TOKEN', 'the certificate and the join token have both expired; a new token is needed');
    const response = await (this.options.requestCertificate ?? requestCertificate)({
      address: this.options.controlPlane,
      serverName: this.options.serverName ?? CONTROL_SERVER_NAME,
      trustPem: anchors.join(''),
      csr,
      ...(this.options.ttlSeconds !== undefined ? { validitySeconds: this.options.ttlSeconds } : {}),
      ...(tokenValid ? { token } : {}),
      ...(renewWith ? { client: renewWith } : {}),
      timeoutMs: this.options.requestTimeoutMs ?? 10_000,
    });
    const accepted = acceptChain(response, { spiffeId: claims.spiffeId, anchors, keyPem: key.privateKeyPem, now: Date.now() });
    const received = this.clock.now();
    const svid: Svid = { spiffeId: claims.spiffeId, keyPem: key.privateKeyPem, ...accepted };
    const previous = this.svid;
    const previousTrust = this.trust;
    this.svid = svid;
    // Durations from the wall-clock validity, placed on the manager's clock.
    this.expiresAt = received + (svid.notAfter - Date.now());
    this.trust = svid.trustBundlePem;
    log('obtained %s serial %s, valid until %s', svid.spiffeId, svid.serialNumber, new Date(svid.notAfter).toISOString());
    this.rotated.fire({ previous, current: svid });
    if (previousTrust.length && !sameBundle(previousTrust, this.trust)) this.trustChanged.fire({ previous: previousTrust, current: this.trustBundle() });
    return svid;
  }

  /** The root the token pins: fetched from the TLS handshake, and checked against the fingerprint whatever fetched it. */
  private async bootstrapRoot(claims: JoinTokenClaims): Promise<string> {
    let root: string;
    if (this.options.fetchRoot) root = await this.options.fetchRoot(claims);
    else {
      const { host, port } = splitHostPort(this.options.controlPlane);
      root = (await fetchPinnedRoot({ host, port, fingerprint: claims.rootFingerprint, serverName: this.options.serverName ?? CONTROL_SERVER_NAME, ...(this.options.requestTimeoutMs ? { timeoutMs: this.options.requestTimeoutMs } : {}) })).toString();
    }
    if (certificateFingerprint(root) !== claims.rootFingerprint) throw meshError('MESHLET_ERR_TLS_PEER', 'the bootstrap root is not the one the join token pins');
    return root;
  }

  private random(): number {
    return (this.options.random ?? Math.random)();
  }
}

function sameBundle(a: readonly string[], b: readonly string[]): boolean {
  const fa = a.map((p) => certificateFingerprint(new X509Certificate(p))).sort();
  const fb = b.map((p) => certificateFingerprint(new X509Certificate(p))).sort();
  return fa.length === fb.length && fa.every((f, i) => f === fb[i]);
}

function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address.trim());
  if (!m) throw meshError('MESHLET_ERR_USAGE', `controlPlane must be host:port, got "${address}"`);
  return { host: m[1]!, port: Number(m[2]) };
}
