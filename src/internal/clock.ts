/**
 * Time as an injectable dependency, so timers can be driven by a fake clock in tests. The system
 * clock's timers are unref'd (a pending rotation never keeps a process alive) and clamped to
 * Node's maximum delay (~24.8 days); callers re-plan when a clamped timer fires.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const MAX_DELAY_MS = 2 ** 31 - 1;

/** Date.now and unref'd global timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.max(0, Math.min(ms, MAX_DELAY_MS)));
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
