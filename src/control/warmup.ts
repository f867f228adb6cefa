import { trace } from '../internal/debug.js';
import { DEFAULT_BACKOFF } from '../xds/backoff.js';
import type { Registry } from './registry/announcements.js';

const log = trace('ads');

/**
 * Default warm-up after a start, ms. gRPC's connection backoff (1 s, ×1.6, ±20 %) puts a
 * client that saw a few seconds of outage on retries about 1, 2.6, 5.2 and 9.3 s after the
 * break, so 10 s lets the clients of a quick restart come back before anything is withdrawn.
 */
export const DEFAULT_WARMUP_MS = 10_000;

/**
 * How long an announcement restored from the state file waits for its node after the server
 * starts serving, ms: the longest gap between two reconnect attempts of a gRPC client (the
 * backoff cap, 120 s, plus 20 % jitter). The warm-up alone is too short for that: after a longer
 * outage or a few restarts in a row a client's next attempt can be 10 s or more away (1 s × 1.6ⁿ),
 * and a restored endpoint dropped before its node is back removes a live service from every
 * client (a CDS/LDS removal, SotW or delta alike). The previous server died without seeing its
 * clients go, so nothing says they are gone; Istio likewise keeps an auto-registered
 * WorkloadEntry whose istiod died while the proxy was connected (connectedAt set, no
 * disconnectedAt) until the connection's max age, and applies its 10 s grace only to a
 * disconnect it saw (pilot/pkg/autoregistration/controller.go, shouldCleanupEntry).
 */
export const RESTORED_KEEP_MS = Math.round(DEFAULT_BACKOFF.maxMs * (1 + DEFAULT_BACKOFF.jitter));

/**
 * Keep of restored announcements for a warm-up of `warmupMs` (0: disabled, then only the
 * withdraw grace) and a withdraw grace of `graceMs`.
 */
export function restoredKeepMs(warmupMs: number, graceMs: number): number {
  return warmupMs <= 0 ? graceMs : Math.max(warmupMs, graceMs, RESTORED_KEEP_MS);
}

/** Options of {@link WarmUp}. */
export interface WarmUpOptions {
  registry: Registry;
  /** Length of the warm-up, ms (at least the registry's withdraw grace; the caller sees to that). */
  durationMs: number;
  /** Announcements were restored from a state file: the snapshot is complete from the start. */
  restored: boolean;
  /** Called once when the warm-up ends (push held responses). */
  onEnd: () => void;
  now?: () => number;
}

/**
 * The window after a control server start in which nothing that was in the mesh may disappear.
 *
 * - Once it is known to be a restart (restored state, or a returning client), the registry
 *   withdraws nothing until the window closes (or the grace, whichever is later).
 * - With announcements restored from disk the snapshot already holds every service, so streams
 *   are answered at once, and the window ends early when every restored node re-announced. A
 *   restored announcement outlives the window ({@link RESTORED_KEEP_MS}): its node may be deep
 *   in reconnect backoff.
 * - Without them (memory store, first start) the server cannot tell which services are still
 *   to come back. As soon as a client that held config from a previous server reconnects
 *   (its first request carries a `version_info`), every response is held until the window ends:
 *   that client keeps serving its cached config meanwhile, instead of applying a state of the
 *   world without the services that have not re-announced yet (SotW removal). A first start,
 *   where no client has a version, answers at once.
 *
 * @example
 * ```ts
 * const warm = new WarmUp({ registry, durationMs: 10_000, restored: false, onEnd: () => ads.push() });
 * warm.start();
 * if (warm.holding()) deferResponse();
 * ```
 */
export class WarmUp {
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private hold = false;
  private readonly now: () => number;
  private until = 0;

  constructor(private readonly options: WarmUpOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.options.durationMs <= 0) return this.end('disabled');
    this.until = this.now() + this.options.durationMs;
    // Only a restart needs the hold; a first start (no state, no returning client) withdraws as usual.
    if (this.options.restored) this.options.registry.holdWithdrawalsUntil(this.until);
    this.timer = setTimeout(() => this.end('elapsed'), this.options.durationMs);
    this.timer.unref();
    if (this.options.restored) this.options.registry.onChange(() => this.checkRestored());
  }

  /** Whether responses must wait (see class doc). */
  holding(): boolean {
    return this.hold;
  }

  /** Whether the warm-up window is still open. */
  active(): boolean {
    return !this.ended;
  }

  /** A stream's first request carried a version from a previous server. */
  onReconnect(): void {
    if (this.ended || this.options.restored || this.hold) return;
    log('warm-up: a client reconnected with config from a previous server; holding responses until the warm-up ends');
    this.hold = true;
    this.options.registry.holdWithdrawalsUntil(this.until);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.ended = true;
  }

  private checkRestored(): void {
    if (!this.ended && this.options.registry.pendingRestored() === 0) this.end('every restored node re-announced');
  }

  private end(why: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.options.registry.holdWithdrawalsUntil(0);
    const held = this.hold;
    this.hold = false;
    log('warm-up over (%s)', why);
    if (held) this.options.onEnd();
  }
}
