/**
 * A manual clock for `createTestMesh({ clock: true })`: the mesh reads time and arms its
 * deadline timers through it, so a test steps time with `advance()` instead of sleeping.
 */
import type { Clock } from '../internal/clock.js';
import { meshError } from '../errors.js';

interface Pending {
  at: number;
  fn: () => void;
}

/**
 * Time that moves only when told. `advance(ms)` runs every timer due in that span, soonest
 * first (each sees `now()` at its own due time); nothing else passes time.
 *
 * @example
 * ```ts
 * const t = await createTestMesh({ seed: 1, clock: true });
 * const call = pp.fetch('http://reviews:9080/');   // a 200 ms fault delay is armed on the clock
 * await t.clock!.waitForTimers();                   // until the mesh armed it
 * t.clock!.advance(200);                            // the delay is over: the call goes on
 * ```
 */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<number, Pending>();
  private readonly waiters = new Set<() => void>();

  /** `start`: epoch ms the clock shows first (default: the real time now). */
  constructor(start = Date.now()) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + (Number.isNaN(ms) ? Infinity : Math.max(0, ms)), fn });
    for (const w of [...this.waiters]) w();
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /**
   * An AbortSignal that aborts (with a `TimeoutError`, as `AbortSignal.timeout` does) once this
   * clock has moved `ms` forward: hand it to code whose own budget should follow the test's time.
   */
  timeoutSignal(ms: number): AbortSignal {
    const ac = new AbortController();
    this.setTimeout(() => ac.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
    return ac.signal;
  }

  /** Delays from now of the timers pending, soonest first. */
  pending(): number[] {
    return [...this.timers.values()].map((p) => p.at - this.t).sort((a, b) => a - b);
  }

  /**
   * Moves time forward by `ms`, firing the timers due by then in order; returns how many fired.
   * A timer a firing timer arms within the span fires too.
   */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('ManualClock.advance(ms): ms must be a finite number ≥ 0');
    const end = this.t + ms;
    let fired = 0;
    for (;;) {
      let next: [number, Pending] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      fired++;
      next[1].fn();
    }
    this.t = end;
    return fired;
  }

  /**
   * Resolves once at least `count` timers are pending (the mesh arms them asynchronously, after
   * a call was handed to it). Rejects after `timeoutMs` of real time.
   */
  waitForTimers(count = 1, timeoutMs = 5000): Promise<void> {
    if (this.timers.size >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.timers.size < count) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(meshError('MESHLET_ERR_TIMEOUT', `ManualClock: ${this.timers.size} of ${count} timer(s) armed after ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }
}
