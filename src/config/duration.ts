/**
 * Istio duration strings. Istio's CRDs accept Go `time.ParseDuration` syntax ("1h30m", "250ms",
 * "1.5s"), so we do too: one or more `<decimal><unit>` terms, units ns, us/µs, ms, s, m, h.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Go's `time.Duration` is int64 nanoseconds: `ParseDuration` rejects anything above ~292 years. */
export const MAX_DURATION_MS = 9_223_372_036_854.775807;

/**
 * Parses a duration string into milliseconds. Returns `undefined` for anything that is not a
 * valid, non-negative duration within Go's range ({@link MAX_DURATION_MS}; user input never makes
 * this throw). `"0"` is accepted, as in Go.
 *
 * @example
 * ```ts
 * parseDuration('1.5s');  // 1500
 * parseDuration('1h30m'); // 5_400_000
 * parseDuration('7');     // undefined (unit required)
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const ms = durationSyntax(text);
  return ms !== undefined && ms <= MAX_DURATION_MS ? ms : undefined;
}

/** Whether `text` is well-formed but beyond Go's range (for a precise message). */
export function isDurationOutOfRange(text: string): boolean {
  const ms = durationSyntax(text);
  return ms !== undefined && ms > MAX_DURATION_MS;
}

function durationSyntax(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const s = text;
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < s.length) {
    const at = TERM.lastIndex;
    const m = TERM.exec(s);
    if (!m || m.index !== at) return undefined;
    const unit = UNIT_MS[m[2] as string];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
  }
  return total;
}

/**
 * Formats milliseconds the way Istio prints durations (`1.5s`, `250ms`), for messages.
 *
 * @example
 * ```ts
 * formatDuration(1500); // "1.5s"
 * ```
 */
export function formatDuration(ms: number): string {
  return ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`;
}
