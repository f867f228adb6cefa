/**
 * Timers for delays longer than Node allows. `setTimeout` turns any delay above 2^31-1 ms
 * (~24.8 days) into 1 ms with a TimeoutOverflowWarning, so a route `timeout: 600h` would fire
 * at once, on every request. Long delays are armed in steps of at most 2^31-1 ms instead; short
 * ones (all real traffic) stay a plain `setTimeout` with no extra allocation.
 */

import type { Clock } from './clock.js';

/** Node's largest timer delay. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A long delay armed in steps; `current` is the step pending now. */
class SteppedTimer {
  current: NodeJS.Timeout | undefined;
  constructor(fn: () => void, until: number) {
    const step = (): void => {
      const left = until - Date.now();
      this.current = left > 0 ? setTimeout(step, Math.min(left, MAX_TIMER_MS)) : undefined;
      if (left <= 0) fn();
    };
    this.current = setTimeout(step, MAX_TIMER_MS);
  }
}

/** What {@link setLongTimeout} returns; pass it to {@link clearLongTimeout}. */
export type LongTimer = NodeJS.Timeout | SteppedTimer;

/**
 * `setTimeout` for any finite delay (negative means now). Infinite or NaN delays never fire.
 *
 * @example
 * ```ts
 * const t = setLongTimeout(() => abort(), 600 * 3_600_000); // 600h, fires after 600h
 * clearLongTimeout(t);
 * ```
 */
export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  if (ms <= MAX_TIMER_MS) return setTimeout(fn, Math.max(0, ms));
  // Infinity/NaN: a timer that never fires (Date.now() + Infinity is never reached).
  return new SteppedTimer(fn, Date.now() + (Number.isNaN(ms) ? Infinity : ms));
}

/** Cancels a timer from {@link setLongTimeout}; `undefined` is ignored. */
export function clearLongTimeout(timer: LongTimer | undefined): void {
  if (timer instanceof SteppedTimer) {
    if (timer.current) clearTimeout(timer.current);
    timer.current = undefined;
  } else if (timer) clearTimeout(timer);
}

/**
 * One re-armable timer for a call's nearest deadline (route, per-try, backoff). Moving the
 * deadline later keeps the earlier timer (it fires, finds nothing due, and the owner re-arms):
 * one timer per request rather than a clear and a set at every step.
 *
 * @example
 * ```ts
 * const t = new DeadlineTimer({ onDeadline: () => onTimer() });
 * t.set(Date.now() + 100); // fires in ~100 ms
 * t.set(Infinity);         // cancelled
 * ```
 */
export class DeadlineTimer {
  private timer: LongTimer | undefined = undefined;
  private at = Infinity;

  /**
   * `owner.onDeadline()` is called when the timer fires (the owner itself, not a closure of it).
   * `clock`: arm on an injected clock (a test's manual clock) instead of Node's timers.
   */
  constructor(private readonly owner: { onDeadline(): void }, private readonly clock?: Clock) {}

  /** Fire at `at` (epoch ms), or earlier if already armed earlier; Infinity cancels. */
  set(at: number): void {
    if (at === Infinity) return this.clear();
    if (this.timer !== undefined && this.at <= at) return;
    this.cancel();
    this.at = at;
    const clock = this.clock;
    this.timer = clock ? (clock.setTimeout(this.fire, at - clock.now()) as LongTimer) : setLongTimeout(this.fire, at - Date.now());
  }

  clear(): void {
    if (this.timer === undefined) return;
    this.cancel();
    this.timer = undefined;
    this.at = Infinity;
  }

  private cancel(): void {
    if (this.clock) {
      if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    } else clearLongTimeout(this.timer);
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.at = Infinity;
    this.owner.onDeadline();
  };
}
