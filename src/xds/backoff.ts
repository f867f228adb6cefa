/**
 * Jittered exponential backoff for reconnecting the ADS stream, with gRPC's connection-backoff
 * defaults (https://github.com/grpc/grpc/blob/master/doc/connection-backoff.md). Pure: the
 * random source is injectable, and it schedules nothing itself.
 */

/** Backoff tuning; every field optional. */
export interface BackoffOptions {
  /** First delay, ms. Default 1000. */
  initialMs?: number;
  /** Growth per attempt. Default 1.6. */
  multiplier?: number;
  /** Relative jitter: the delay is spread uniformly over ±jitter. Default 0.2. */
  jitter?: number;
  /** Cap on the un-jittered delay, ms. Default 120 000. */
  maxMs?: number;
  /** Uniform [0, 1) source; default Math.random. Inject a constant in tests. */
  random?: () => number;
}

/** gRPC connection backoff defaults. */
export const DEFAULT_BACKOFF = Object.freeze({ initialMs: 1000, multiplier: 1.6, jitter: 0.2, maxMs: 120_000 });

/**
 * Stateful backoff sequence: `next()` returns the delay before the next attempt and advances;
 * `reset()` goes back to the initial delay (call it once the peer has proven healthy — for
 * ADS, when a response arrives, not merely on connect).
 *
 * @example
 * ```ts
 * const backoff = new Backoff({ initialMs: 50, random: () => 0.5 });
 * backoff.next(); // 50
 * backoff.next(); // 80
 * backoff.reset();
 * ```
 */
export class Backoff {
  readonly initialMs: number;
  readonly multiplier: number;
  readonly jitter: number;
  readonly maxMs: number;
  private readonly random: () => number;
  private current: number;
  private attemptCount = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = Math.max(0, options.initialMs ?? DEFAULT_BACKOFF.initialMs);
    this.multiplier = Math.max(1, options.multiplier ?? DEFAULT_BACKOFF.multiplier);
    this.jitter = Math.min(1, Math.max(0, options.jitter ?? DEFAULT_BACKOFF.jitter));
    this.maxMs = Math.max(this.initialMs, options.maxMs ?? DEFAULT_BACKOFF.maxMs);
    this.random = options.random ?? Math.random;
    this.current = this.initialMs;
  }

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.attemptCount;
  }

  /** The delay before the next attempt, in ms (jittered, rounded); advances the sequence. */
  next(): number {
    const base = this.current;
    this.current = Math.min(base * this.multiplier, this.maxMs);
    this.attemptCount++;
    // random() = 0.5 gives exactly `base`; 0 gives base·(1−jitter), →1 gives base·(1+jitter).
    const factor = 1 + this.jitter * (2 * this.random() - 1);
    return Math.max(0, Math.round(base * factor));
  }

  /** Back to the initial delay. */
  reset(): void {
    this.current = this.initialMs;
    this.attemptCount = 0;
  }
}
