import { randomBytes } from 'node:crypto';
import { createSecureContext, type SecureContext, type TlsOptions } from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import { trace } from '../../internal/debug.js';
import { Emitter, type Disposable } from '../../internal/events.js';
import type { IdentityManager, Svid } from '../identity/manager.js';
import { identitySecureOptions } from './secure-context.js';

const log = trace('tls');
/** Client sessions kept for resumption (one per upstream SNI/address). */
const MAX_SESSIONS = 1024;

/** What changed: a new SVID (`rotate`), and whether the trust bundle changed with it. */
export interface TlsChange {
  svid: Svid;
  trustChanged: boolean;
}

/**
 * The TLS side of one mesh's identity: the secure contexts built from the current SVID and trust
 * bundle, swapped (never mutated) when the IdentityManager rotates, so a connection keeps the
 * context it was made with and new ones get the new certificate — nothing is dropped. A trust
 * change also forgets every client session and tells servers to replace their ticket keys: a
 * session resumed from before the change would skip the chain check against the new bundle.
 * It is also the grpc-js CertificateProvider (identity and roots) for ADS and gRPC subchannels.
 *
 * @example
 * ```ts
 * const tls = new MeshTls(identityManager);
 * tls.onChange(({ trustChanged }) => trustChanged && server.setTicketKeys(randomBytes(48)));
 * tls.clientContext(); // for tls.connect({ secureContext })
 * ```
 */
export class MeshTls implements grpc.experimental.CertificateProvider {
  private svid: Svid | undefined;
  private client: SecureContext | undefined;
  private readonly sessions = new Map<string, Buffer>();
  private readonly changed = new Emitter<TlsChange>((err) => log('tls change listener threw: %o', err));
  private readonly caListeners = new Set<grpc.experimental.CaCertificateUpdateListener>();
  private readonly idListeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();
  private readonly subs: Disposable[] = [];
  /** Handshakes this mesh started as a client (bench and diagnostics). */
  handshakes = 0;

  constructor(readonly identity: IdentityManager) {
    const svid = identity.current();
    if (svid) this.install(svid, false);
    this.subs.push(identity.on('rotate', ({ previous, current }) => this.install(current, previous !== undefined && !sameTrust(previous, current))));
  }

  /** The SPIFFE ID this mesh is (from the join token). */
  get spiffeId(): string {
    return this.identity.spiffeId;
  }

  /** The current SVID, or undefined before the first one arrived. */
  current(): Svid | undefined {
    return this.svid;
  }

  /** Client context: the SVID as client certificate, the mesh roots as trust. */
  clientContext(): SecureContext | undefined {
    return this.client;
  }

  /** Server options for a tls.Server: the SVID, the roots, a verified client certificate required. */
  serverOptions(): TlsOptions | undefined {
    if (!this.svid) return undefined;
    return { ...identitySecureOptions(this.svid), requestCert: true, rejectUnauthorized: true };
  }

  /** A kept client session for `key` (undefined after a trust change). */
  session(key: string): Buffer | undefined {
    return this.sessions.get(key);
  }

  /** Keeps a client session for resumption. */
  keepSession(key: string, session: Buffer): void {
    if (this.sessions.size >= MAX_SESSIONS && !this.sessions.has(key)) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(key, session);
  }

  /** Runs after every rotation (servers swap their context; on a trust change, their ticket keys). */
  onChange(fn: (change: TlsChange) => void): Disposable {
    return this.changed.on(fn);
  }

  // grpc-js CertificateProvider: updates are delivered on the next tick, as grpc-js' own
  // providers do (its credentials subscribe before they register their watchers).
  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(listener);
    const svid = this.svid;
    if (svid) process.nextTick(() => this.caListeners.has(listener) && listener({ caCertificate: Buffer.from(svid.trustBundlePem.join('')) }));
  }
  removeCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.idListeners.add(listener);
    const svid = this.svid;
    if (svid) process.nextTick(() => this.idListeners.has(listener) && listener(identityUpdate(svid)));
  }
  removeIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.idListeners.delete(listener);
  }

  /** Stops following the IdentityManager (which the mesh closes itself). */
  close(): void {
    for (const s of this.subs.splice(0)) s.dispose();
    this.changed.clear();
    this.caListeners.clear();
    this.idListeners.clear();
  }

  private install(svid: Svid, trustChanged: boolean): void {
    this.svid = svid;
    this.client = createSecureContext(identitySecureOptions(svid));
    if (trustChanged) this.sessions.clear();
    log('installed %s serial %s%s', svid.spiffeId, svid.serialNumber, trustChanged ? ' (trust bundle changed)' : '');
    const ca = { caCertificate: Buffer.from(svid.trustBundlePem.join('')) };
    for (const l of this.caListeners) l(ca);
    const id = identityUpdate(svid);
    for (const l of this.idListeners) l(id);
    this.changed.fire({ svid, trustChanged });
  }
}

function identityUpdate(svid: Svid): grpc.experimental.IdentityCertificateUpdate {
  return { certificate: Buffer.from(svid.chainPem.join('')), privateKey: Buffer.from(svid.keyPem) };
}

function sameTrust(a: Svid, b: Svid): boolean {
  return a.trustBundlePem.length === b.trustBundlePem.length && a.trustBundlePem.every((p, i) => p === b.trustBundlePem[i]);
}

/** Fresh ticket keys for a tls.Server (48 bytes, node's format). */
export function newTicketKeys(): Buffer {
  return randomBytes(48);
}
