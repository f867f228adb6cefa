import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { meshError } from '../../errors.js';
import type { JoinTokenClaims } from '../../security/identity/join-token.js';

/** The ledger file in the CA directory. */
export const TOKEN_USES_FILE = 'token-uses.json';
/** Bounded tokens tracked at once (each entry lives until its token expires). */
const MAX_ENTRIES = 100_000;
/** A ledger file larger than this is refused (MESHLET_ERR_CA_DIR), not parsed. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;
// Expired tokens are kept this long past `exp`, as the verifier tolerates that much clock skew.
const TOLERANCE_MS = 120_000;

interface Entry {
  used: number;
  expiresAt: number;
}

/**
 * Uses of bounded join tokens (`maxUses`), counted by `jti` — SPIRE's join tokens are one-time
 * use (its server deletes a join token once a node attested with it); unbounded tokens are
 * Istio's model (a service-account token any replica presents until it expires) and are not
 * tracked. The count is kept in the CA directory (`token-uses.json`, mode 0600, replaced
 * atomically) so a restart does not hand a used token its uses back; entries go once their token
 * expired. A use is reserved before signing and given back when signing fails, so a bad CSR does
 * not burn a one-time token, and two requests racing with one token cannot both take its last use.
 *
 * @example
 * ```ts
 * const uses = await TokenUses.open(caDir);
 * const release = await uses.reserve(claims); // throws MESHLET_ERR_CA_TOKEN when used up
 * try { await sign(); } catch (err) { await release(); throw err; }
 * ```
 */
/** Where uses are counted instead of the CA directory, shared by every control server (the etcd store). */
export interface TokenUsesShare {
  /** Takes one use of `jti` (at most `max`): 'taken', or 'used' when none is left. */
  take(jti: string, max: number, expiresAt: number): Promise<'taken' | 'used'>;
  /** Gives one use back (signing failed). Best effort. */
  giveBack(jti: string): Promise<void>;
}

export class TokenUses {
  private writing: Promise<void> = Promise.resolve();
  private share: TokenUsesShare | undefined;

  /** Counts uses in `share` (every server's count) instead of the CA directory from now on; `undefined` goes back. */
  setShare(share: TokenUsesShare | undefined): void {
    this.share = share;
  }

  private constructor(private readonly file: string, private readonly entries: Map<string, Entry>, private readonly now: () => number) {}

  /** Reads the ledger of `dir` (none yet: empty). A malformed or oversized file is MESHLET_ERR_CA_DIR. */
  static async open(dir: string, now: () => number = Date.now): Promise<TokenUses> {
    const file = join(dir, TOKEN_USES_FILE);
    const entries = new Map<string, Entry>();
    let text: string | undefined;
    let size = 0;
    try {
      size = (await stat(file)).size;
      if (size <= MAX_FILE_BYTES) text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw meshError('MESHLET_ERR_CA_DIR', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (size > MAX_FILE_BYTES) throw meshError('MESHLET_ERR_CA_DIR', `${file} is larger than ${MAX_FILE_BYTES} bytes`);
    if (text !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw meshError('MESHLET_ERR_CA_DIR', `${file} is not JSON: ${(err as Error).message}`, { cause: err });
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw meshError('MESHLET_ERR_CA_DIR', `${file} must hold an object of jti → { used, expiresAt }`);
      for (const [jti, e] of Object.entries(parsed as Record<string, Partial<Entry>>)) {
        if (entries.size >= MAX_ENTRIES) break;
        if (typeof e?.used === 'number' && typeof e.expiresAt === 'number') entries.set(jti, { used: e.used, expiresAt: e.expiresAt });
      }
    }
    return new TokenUses(file, entries, now);
  }

  /** When the bounded token `jti` expires, if its uses are counted here. */
  expiresAt(jti: string): number | undefined {
    return this.entries.get(jti)?.expiresAt;
  }

  /** Tokens tracked now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Takes one use of a bounded token (unbounded ones pass untouched) and resolves once it is on
   * disk; resolves with a function that gives the use back. Used up: MESHLET_ERR_CA_TOKEN.
   */
  async reserve(claims: Pick<JoinTokenClaims, 'jti' | 'expiresAt' | 'maxUses'>): Promise<() => Promise<void>> {
    const max = claims.maxUses;
    if (max === undefined) return async () => {};
    const share = this.share;
    if (share) {
      if ((await share.take(claims.jti, max, claims.expiresAt)) === 'used') throw meshError('MESHLET_ERR_CA_TOKEN_USED', `join token rejected: already used ${max} of ${max} time${max === 1 ? '' : 's'}`);
      let given = false;
      return async () => {
        if (given) return;
        given = true;
        await share.giveBack(claims.jti).catch(() => undefined);
      };
    }
    this.prune();
    let entry = this.entries.get(claims.jti);
    if (entry && entry.used >= max) throw meshError('MESHLET_ERR_CA_TOKEN_USED', `join token rejected: already used ${entry.used} of ${max} time${max === 1 ? '' : 's'}`);
    if (!entry) {
      if (this.entries.size >= MAX_ENTRIES) throw meshError('MESHLET_ERR_CA_OVERLOADED', `${MAX_ENTRIES} bounded join tokens are in use; try again when some expire`);
      entry = { used: 0, expiresAt: claims.expiresAt };
      this.entries.set(claims.jti, entry);
    }
    // Counted before the first await: a concurrent request with the same token sees it.
    entry.used++;
    const taken = entry;
    try {
      await this.persist();
    } catch (err) {
      taken.used--;
      throw err;
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      taken.used = Math.max(0, taken.used - 1);
      await this.persist().catch(() => undefined);
    };
  }

  private prune(): void {
    const cutoff = this.now() - TOLERANCE_MS;
    for (const [jti, e] of this.entries) if (e.expiresAt < cutoff) this.entries.delete(jti);
  }

  /** Writes the ledger (one write at a time, each with the state at its turn), tmp file + rename. */
  private persist(): Promise<void> {
    const run = async (): Promise<void> => {
      const tmp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(tmp, JSON.stringify(Object.fromEntries(this.entries)), { mode: 0o600 });
        await rename(tmp, this.file);
      } catch (err) {
        throw meshError('MESHLET_ERR_CA_DIR', `cannot record a join token use in ${this.file}: ${(err as Error).message}`, { cause: err });
      }
    };
    const p = this.writing.catch(() => undefined).then(run);
    this.writing = p;
    return p;
  }
}
