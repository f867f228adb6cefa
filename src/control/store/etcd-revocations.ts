import type { Revocation, RevocationShare, TokenRevocations } from '../ca/revocations.js';
import { meshError } from '../../errors.js';
import { trace } from '../../internal/debug.js';
import type { EtcdConnection, EtcdEntry } from './etcd-client.js';

const log = trace('store');
/** A value larger than this under the revocation prefix is not a revocation. */
const MAX_ENTRY_BYTES = 2048;

/**
 * Join token revocations in etcd (issue 18: "issued-token revocations"), so that a token revoked
 * through any control server is refused by all of them within a watch event: one key per token,
 * `<prefix>revoked-tokens/<jti>`, holding the Revocation as JSON, under a lease that nobody
 * renews and that ends when the entry may go (Revocation.expiresAt) — etcd itself keeps the list
 * bounded. Every server reads the prefix at start and follows it with a watch (no polling); a
 * watch that cannot resume reads it again. New revocations of this server's CA go to etcd (the
 * CA's `setShare`), not to its local CA directory.
 *
 * Values are not sealed: a revocation is no secret, and a writer to etcd could delete one
 * whether sealed or not (etcd access is the control plane's own, like its config).
 *
 * @example
 * ```ts
 * const shared = new SharedRevocations(etcd, ca.revocations);
 * await shared.start();
 * await ca.revokeToken({ jti }); // every server's watch sees it
 * ```
 */
export class SharedRevocations implements RevocationShare {
  readonly prefix: string;
  private watch: { cancel(): Promise<void> } | undefined;
  private closed = false;

  constructor(private readonly etcd: EtcdConnection, private readonly revocations: TokenRevocations, private readonly now: () => number = Date.now) {
    this.prefix = `${etcd.target.prefix}revoked-tokens/`;
  }

  /** Reads every revocation, watches from there, and sends this CA's new ones to etcd. Throws MESHLET_ERR_ETCD. */
  async start(): Promise<void> {
    await this.load();
    this.revocations.setShare(this);
  }

  async publish(entry: Revocation): Promise<void> {
    const ttl = Math.max(60, Math.ceil((entry.expiresAt - this.now()) / 1000));
    try {
      const lease = await this.etcd.grantLease(ttl);
      await this.etcd.commit([{ put: this.prefix + entry.jti, value: Buffer.from(JSON.stringify(entry)), lease }]);
    } catch (err) {
      throw meshError('MESHLET_ERR_ETCD', `cannot store the revocation in etcd: ${(err as Error).message}`, { cause: err });
    }
    log('revocation of jti=%s stored in etcd (lease %d s)', entry.jti, ttl);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.revocations.setShare(undefined);
    await this.watch?.cancel();
    this.watch = undefined;
  }

  private async load(): Promise<void> {
    let snapshot: Awaited<ReturnType<EtcdConnection['range']>>;
    try {
      snapshot = await this.etcd.range(this.prefix);
    } catch (err) {
      throw meshError('MESHLET_ERR_ETCD', `cannot read the token revocations from etcd: ${(err as Error).message}`, { cause: err });
    }
    if (this.closed) return;
    this.revocations.resetShared(snapshot.entries.map((e) => this.parse(e)).filter((r): r is Revocation => r !== undefined));
    log('loaded %d token revocation(s) from etcd at revision %d', snapshot.entries.length, snapshot.revision);
    await this.watch?.cancel();
    this.watch = await this.etcd.watch(this.prefix, snapshot.revision + 1, {
      put: (e) => {
        const r = this.parse(e);
        if (r) this.revocations.addShared(r);
      },
      delete: (key) => this.revocations.removeShared(key.slice(this.prefix.length)),
      reset: () => void this.reload(),
    });
  }

  private async reload(): Promise<void> {
    if (this.closed) return;
    try {
      await this.load();
    } catch (err) {
      log('revocations reload failed (%s); retrying in 1 s', (err as Error).message);
      setTimeout(() => void this.reload(), 1000).unref();
    }
  }

  private parse(e: EtcdEntry): Revocation | undefined {
    const jti = e.key.slice(this.prefix.length);
    if (e.value.length > MAX_ENTRY_BYTES) return undefined;
    try {
      const r = JSON.parse(e.value.toString('utf8')) as Partial<Revocation>;
      if (r.jti !== jti || typeof r.revokedAt !== 'number' || typeof r.expiresAt !== 'number') return undefined;
      return { jti, revokedAt: r.revokedAt, expiresAt: r.expiresAt, ...(typeof r.spiffeId === 'string' ? { spiffeId: r.spiffeId.slice(0, 512) } : {}) };
    } catch {
      log('%s is not a revocation; ignored', e.key);
      return undefined;
    }
  }
}
