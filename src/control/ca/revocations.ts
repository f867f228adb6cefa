import { randomBytes } from 'node:crypto';
import { open as openFile, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { meshError } from '../../errors.js';
import { trace } from '../../internal/debug.js';

const log = trace('ca');

/** The revocation list in the CA directory. */
export const REVOKED_TOKENS_FILE = 'revoked-tokens.json';
/** Revocations held at once (each goes when nothing issued on its token's authority can still be valid). */
export const MAX_REVOCATIONS = 100_000;
/** A list file larger than this is refused (MESHLET_ERR_CA_DIR), not parsed. */
const MAX_FILE_BYTES = 32 * 1024 * 1024;
// The verifier tolerates this much clock skew past a token's `exp`.
const TOLERANCE_MS = 120_000;
// A lock file older than this belongs to a writer that died mid-write.
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 10_000;
const JTI = /^[A-Za-z0-9_-]{1,128}$/;

/** One revoked join token. */
export interface Revocation {
  /** The token's `jti`. */
  jti: string;
  /** When it was revoked (epoch ms). */
  revokedAt: number;
  /**
   * Until when the entry is kept (epoch ms): the later of the token's own expiry and the end of
   * the longest SVID the CA could have issued on its authority just before the revocation —
   * after that, neither the token nor any certificate carrying its jti can be presented.
   */
  expiresAt: number;
  /** The identity the token granted, when known (for `GET /tokens/revoked` and logs). */
  spiffeId?: string;
}

/** Where revocations are shared with the other control servers (the etcd store). */
export interface RevocationShare {
  /** Writes one revocation where every server's watch sees it; resolves once stored. */
  publish(entry: Revocation): Promise<void>;
}

/** Whether `jti` is shaped like a join token id (what `revoke` accepts). */
export function isTokenId(jti: string): boolean {
  return JTI.test(jti);
}

/**
 * Revoked join tokens, by `jti`. Istio has no revocation of its JWTs (a service-account token
 * is valid until it expires, and istiod's certificates expire by themselves); SPIRE's
 * `agent evict` is the model here: the token joins nothing more, and a workload whose SVID was
 * issued on its authority is not renewed — its current certificate stays valid until it expires
 * (24 h by default), the same bound Istio relies on for a leaked certificate.
 *
 * The list lives in the CA directory (`revoked-tokens.json`, mode 0600, replaced atomically under
 * a lock file, so `meshlet token revoke --ca-dir` and a running server's admin API can both write
 * it); a server re-reads it when it changed on disk, at the next token it checks. With the etcd
 * store the list is in etcd instead (store/etcd-revocations.ts), and every server's watch feeds
 * {@link addShared}. Entries go once they expire (see {@link Revocation.expiresAt}), so the list
 * is bounded by the tokens revoked in one token-plus-SVID lifetime (at most 100 000).
 *
 * @example
 * ```ts
 * const revocations = await TokenRevocations.open(caDir);
 * await revocations.revoke({ jti: claims.jti, tokenExpiresAt: claims.expiresAt });
 * await revocations.check(claims.jti); // the Revocation: refuse the CSR
 * ```
 */
export class TokenRevocations {
  private local = new Map<string, Revocation>();
  private readonly shared = new Map<string, Revocation>();
  private seen: { mtimeMs: number; size: number; ino: number } | undefined;
  private share: RevocationShare | undefined;
  private looking: Promise<void> | undefined;

  private constructor(private readonly dir: string, private readonly maxSvidTtlMs: number, private readonly now: () => number) {}

  /** Reads the list of `dir` (none yet: empty). A malformed or oversized file is MESHLET_ERR_CA_DIR. */
  static async open(dir: string, options: { maxSvidTtlMs?: number; now?: () => number } = {}): Promise<TokenRevocations> {
    const r = new TokenRevocations(dir, options.maxSvidTtlMs ?? 90 * 24 * 3600_000, options.now ?? Date.now);
    await r.refresh(true);
    return r;
  }

  /** The file this list is kept in. */
  get file(): string {
    return join(this.dir, REVOKED_TOKENS_FILE);
  }

  /** Revocations held now (file and shared). */
  get size(): number {
    this.prune();
    return new Set([...this.local.keys(), ...this.shared.keys()]).size;
  }

  /** Every revocation in force, oldest first. */
  list(): Revocation[] {
    this.prune();
    const all = new Map([...this.local, ...this.shared]);
    return [...all.values()].sort((a, b) => a.revokedAt - b.revokedAt);
  }

  /**
   * Sends new revocations to `share` (and not to the file) from now on; `undefined` goes back to
   * the file. The etcd store installs one.
   */
  setShare(share: RevocationShare | undefined): void {
    this.share = share;
  }

  /** The revocation of `jti`, if any. Re-reads the file first when it changed on disk (a CLI revoke). */
  async check(jti: string): Promise<Revocation | undefined> {
    // Checks arriving together (a burst of CSRs) share one look at the file.
    this.looking ??= this.refresh(false)
      .catch((err: unknown) => log('cannot re-read %s (%s); keeping the list as it was', this.file, (err as Error).message))
      .finally(() => { this.looking = undefined; });
    await this.looking;
    const entry = this.shared.get(jti) ?? this.local.get(jti);
    return entry && entry.expiresAt >= this.now() - TOLERANCE_MS ? entry : undefined;
  }

  /**
   * Revokes a token. `tokenExpiresAt` absent (only a jti is known): kept as long as the longest
   * token lives (365 days). Resolves the entry (an earlier one when the token was revoked before)
   * once it is stored. A bad jti is MESHLET_ERR_USAGE; a full list MESHLET_ERR_CA_OVERLOADED.
   */
  async revoke(request: { jti: string; tokenExpiresAt?: number; spiffeId?: string }): Promise<{ revocation: Revocation; added: boolean }> {
    if (typeof request.jti !== 'string' || !isTokenId(request.jti)) throw meshError('MESHLET_ERR_USAGE', 'a token id (jti) is 1-128 characters of A-Z a-z 0-9 _ -');
    const now = this.now();
    const tokenExpiresAt = request.tokenExpiresAt ?? now + 365 * 24 * 3600_000;
    const entry: Revocation = {
      jti: request.jti,
      revokedAt: now,
      expiresAt: Math.max(tokenExpiresAt, now + this.maxSvidTtlMs) + TOLERANCE_MS,
      ...(request.spiffeId !== undefined ? { spiffeId: request.spiffeId } : {}),
    };
    const known = await this.check(entry.jti);
    if (known) return { revocation: known, added: false };
    this.prune();
    if (this.size >= MAX_REVOCATIONS) throw meshError('MESHLET_ERR_CA_OVERLOADED', `${MAX_REVOCATIONS} revocations are in force; the oldest go as their tokens' certificates expire`);
    if (this.share) {
      await this.share.publish(entry);
      this.shared.set(entry.jti, entry);
    } else {
      await this.writeLocked(entry);
    }
    log('revoked token jti=%s%s', entry.jti, entry.spiffeId ? ` (${entry.spiffeId})` : '');
    return { revocation: entry, added: true };
  }

  /** A revocation seen elsewhere (an etcd watch event or the initial read). */
  addShared(entry: Revocation): void {
    if (!isTokenId(entry.jti) || typeof entry.expiresAt !== 'number' || typeof entry.revokedAt !== 'number') return;
    if (!this.shared.has(entry.jti) && this.shared.size >= MAX_REVOCATIONS) return;
    this.shared.set(entry.jti, entry);
  }

  /** A shared revocation that went (its etcd lease expired). */
  removeShared(jti: string): void {
    this.shared.delete(jti);
  }

  /** Replaces the shared entries (after a fresh etcd read). */
  resetShared(entries: Revocation[]): void {
    this.shared.clear();
    for (const e of entries) this.addShared(e);
  }

  /** Re-reads the file now (SIGHUP); resolves how many entries it holds. */
  async reload(): Promise<number> {
    await this.refresh(true);
    return this.local.size;
  }

  private prune(): void {
    const cutoff = this.now() - TOLERANCE_MS;
    for (const map of [this.local, this.shared]) for (const [jti, e] of map) if (e.expiresAt < cutoff) map.delete(jti);
  }

  /** Reads the file when it is not what was read last (inode, size, mtime). */
  private async refresh(force: boolean): Promise<void> {
    let info;
    try {
      info = await stat(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw meshError('MESHLET_ERR_CA_DIR', `cannot read ${this.file}: ${(err as Error).message}`, { cause: err });
      this.local = new Map();
      this.seen = undefined;
      return;
    }
    const mark = { mtimeMs: info.mtimeMs, size: info.size, ino: info.ino };
    if (!force && this.seen && this.seen.mtimeMs === mark.mtimeMs && this.seen.size === mark.size && this.seen.ino === mark.ino) return;
    this.local = await this.readFile();
    this.seen = mark;
  }

  private async readFile(): Promise<Map<string, Revocation>> {
    const out = new Map<string, Revocation>();
    let text: string;
    try {
      if ((await stat(this.file)).size > MAX_FILE_BYTES) throw meshError('MESHLET_ERR_CA_DIR', `${this.file} is larger than ${MAX_FILE_BYTES} bytes`);
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      if ((err as { code?: string }).code === 'MESHLET_ERR_CA_DIR') throw err;
      throw meshError('MESHLET_ERR_CA_DIR', `cannot read ${this.file}: ${(err as Error).message}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw meshError('MESHLET_ERR_CA_DIR', `${this.file} is not JSON: ${(err as Error).message}`, { cause: err });
    }
    if (!Array.isArray(parsed)) throw meshError('MESHLET_ERR_CA_DIR', `${this.file} must hold an array of { jti, revokedAt, expiresAt }`);
    const cutoff = this.now() - TOLERANCE_MS;
    for (const e of parsed as Array<Partial<Revocation>>) {
      if (out.size >= MAX_REVOCATIONS) break;
      if (typeof e?.jti !== 'string' || !isTokenId(e.jti) || typeof e.revokedAt !== 'number' || typeof e.expiresAt !== 'number' || e.expiresAt < cutoff) continue;
      out.set(e.jti, { jti: e.jti, revokedAt: e.revokedAt, expiresAt: e.expiresAt, ...(typeof e.spiffeId === 'string' ? { spiffeId: e.spiffeId.slice(0, 512) } : {}) });
    }
    return out;
  }

  /**
   * Adds `entry` to the file: under `revoked-tokens.json.lock` (created exclusively; one older
   * than 30 s is a dead writer's and is broken), re-read, merge, prune, write a temporary file,
   * rename it into place. Another process's revocation made meanwhile is kept.
   */
  private async writeLocked(entry: Revocation): Promise<void> {
    const lock = `${this.file}.lock`;
    const until = this.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await (await openFile(lock, 'wx', 0o600)).close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw meshError('MESHLET_ERR_CA_DIR', `cannot lock ${this.file}: ${(err as Error).message}`, { cause: err });
        const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age > STALE_LOCK_MS) await unlink(lock).catch(() => {});
        else if (this.now() > until) throw meshError('MESHLET_ERR_CA_DIR', `${lock} has been held for ${Math.round(age / 1000)} s; is another revoke stuck?`);
        else await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    try {
      const merged = await this.readFile();
      merged.set(entry.jti, entry);
      const tmp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(tmp, `${JSON.stringify([...merged.values()], null, 0)}\n`, { mode: 0o600 });
        await rename(tmp, this.file);
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw meshError('MESHLET_ERR_CA_DIR', `cannot write ${this.file}: ${(err as Error).message}`, { cause: err });
      }
      this.local = merged;
      const info = await stat(this.file);
      this.seen = { mtimeMs: info.mtimeMs, size: info.size, ino: info.ino };
    } finally {
      await unlink(lock).catch(() => {});
    }
  }
}
