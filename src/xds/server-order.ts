/**
 * Which control server an xDS client dials next when it has several (gRFC A71,
 * A71-xds-fallback.md: servers in priority order, keep trying the higher-priority one, switch
 * back once it is reachable). Pure bookkeeping over the client's backoff; the probe of the
 * primary is primary-probe.ts.
 */
import type { Backoff } from './backoff.js';
import { PrimaryProbe } from './primary-probe.js';

/**
 * @example
 * ```ts
 * const order = new ServerOrder(['a:15010', 'b:15010'], backoff);
 * order.current;            // 'a:15010'
 * const delay = order.failed(); // 0: 'b:15010' at once; after a full round, backoff.next()
 * order.answered(() => switchBack()); // on a fallback: probe the primary
 * ```
 */
export class ServerOrder<T> {
  private index = 0;
  /** Servers that failed since the last response (a full round backs off). */
  private failedInRound = 0;
  private probe: PrimaryProbe | undefined;
  /**
   * First probe delay on a fallback; doubles each time we went back to a primary that then
   * failed before answering (it accepts connections but not streams), reset once it answers.
   */
  private probeDelayMs: number;

  constructor(private readonly servers: readonly T[], private readonly backoff: Backoff, private readonly address: (t: T) => string) {
    this.probeDelayMs = backoff.initialMs;
  }

  get current(): T {
    return this.servers[this.index]!;
  }

  /** The current stream ended: moves on and returns the delay before the next attempt. */
  failed(): number {
    this.stopProbe();
    this.failedInRound++;
    if (this.failedInRound < this.servers.length) {
      this.index = (this.index + 1) % this.servers.length;
      return 0;
    }
    this.failedInRound = 0;
    this.index = 0;
    return this.backoff.next();
  }

  /** A response arrived from the current server; on a fallback, `onPrimaryUp` runs once the primary accepts connections. */
  answered(onPrimaryUp: () => void): void {
    this.failedInRound = 0;
    if (this.index === 0) this.probeDelayMs = this.backoff.initialMs;
    else this.probe ??= new PrimaryProbe(this.address(this.servers[0]!), onPrimaryUp, { initialMs: this.probeDelayMs, maxMs: this.backoff.maxMs });
  }

  /** Going back to the primary (the probe saw it up). */
  toPrimary(): void {
    this.probe = undefined;
    this.probeDelayMs = Math.min(this.probeDelayMs * 2, Math.max(this.backoff.maxMs, this.backoff.initialMs));
    this.index = 0;
    this.failedInRound = 0;
  }

  stopProbe(): void {
    this.probe?.stop();
    this.probe = undefined;
  }
}
