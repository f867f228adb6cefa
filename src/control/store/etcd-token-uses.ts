import type { TokenUsesShare } from '../ca/token-uses.js';
import { meshError } from '../../errors.js';
import { trace } from '../../internal/debug.js';
import type { EtcdConnection, EtcdEntry } from './etcd-client.js';

const log = trace('store');
// Compare-and-swap rounds before a take gives up (each lost round means another server took a use).
const MAX_ROUNDS = 16;
// Kept this long past the token's `exp`, as the verifier tolerates that much clock skew.
const TOLERANCE_S = 120;

/**
 * Uses of bounded join tokens counted in etcd, so a `--uses 1` token joins one workload across
 * every control server, not one per server: `<prefix>token-uses/<jti>` holds `{ used }`, changed
 * only by compare-and-swap on its mod revision (a take that loses the race reads again), under a
 * lease that ends with the token, so etcd drops the count when the token can no longer be used.
 *
 * @example
 * ```ts
 * ca.tokenUses.setShare(new SharedTokenUses(etcd));
 * ```
 */
export class SharedTokenUses implements TokenUsesShare {
  readonly prefix: string;

  constructor(private readonly etcd: EtcdConnection, private readonly now: () => number = Date.now) {
    this.prefix = `${etcd.target.prefix}token-uses/`;
  }

  async take(jti: string, max: number, expiresAt: number): Promise<'taken' | 'used'> {
    return this.change(jti, (used) => (used >= max ? undefined : used + 1), expiresAt).then((r) => (r === 'unchanged' ? 'used' : 'taken'));
  }

  async giveBack(jti: string): Promise<void> {
    await this.change(jti, (used) => (used > 0 ? used - 1 : undefined), undefined);
  }

  /** One compare-and-swap update of the count; 'unchanged' when `next` declines. */
  private async change(jti: string, next: (used: number) => number | undefined, expiresAt: number | undefined): Promise<'changed' | 'unchanged'> {
    const key = this.prefix + jti;
    try {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const current = await this.read(key);
        const used = current ? countOf(current) : 0;
        const value = next(used);
        if (value === undefined) return 'unchanged';
        // A new count gets its own lease, ending with the token; an existing one keeps its lease.
        let lease = current?.lease;
        if (!current) {
          if (expiresAt === undefined) return 'unchanged';
          lease = await this.etcd.grantLease(Math.max(60, Math.ceil((expiresAt - this.now()) / 1000) + TOLERANCE_S));
        }
        if (await this.etcd.compareAndPut(key, current?.modRevision ?? 0, Buffer.from(JSON.stringify({ used: value })), lease)) return 'changed';
        log('token-uses %s changed under us; reading again', jti);
      }
    } catch (err) {
      throw meshError('MESHLET_ERR_ETCD', `cannot count a join token use in etcd: ${(err as Error).message}`, { cause: err });
    }
    throw meshError('MESHLET_ERR_CA_OVERLOADED', `the use count of join token ${jti} kept changing under ${MAX_ROUNDS} attempts; retry`);
  }

  private async read(key: string): Promise<EtcdEntry | undefined> {
    const { entries } = await this.etcd.range(key);
    return entries.find((e) => e.key === key);
  }
}

function countOf(e: EtcdEntry): number {
  try {
    const used = (JSON.parse(e.value.toString('utf8')) as { used?: unknown }).used;
    return typeof used === 'number' && Number.isInteger(used) && used >= 0 ? used : Number.MAX_SAFE_INTEGER;
  } catch {
    return Number.MAX_SAFE_INTEGER; // unreadable: counted as used up (fail closed)
  }
}
