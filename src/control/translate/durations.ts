/**
 * Istio duration strings (Go `time.ParseDuration` syntax: "7s", "250ms", "1h2m3.5s", "10us")
 * to protobuf `google.protobuf.Duration` plain objects. Written here rather than borrowed
 * because the config loader validates the same syntax and the translator only needs the
 * conversion; arithmetic is done in BigInt nanoseconds so "0.1s" is exactly 100 000 000 ns.
 */

/** A `google.protobuf.Duration` as a plain object for protobufjs `fromObject`. */
export interface ProtoDuration {
  seconds: number;
  nanos: number;
}

const UNIT_NANOS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n,
  'μs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const COMPONENT = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a duration string into nanoseconds, or `undefined` when it is not valid Go syntax.
 * Negative durations are rejected: no Istio field accepts them.
 *
 * @example parseDurationNanos('1.5s') // 1_500_000_000n
 */
export function parseDurationNanos(text: string): bigint | undefined {
  const s = text.trim();
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  COMPONENT.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    COMPONENT.lastIndex = pos;
    const m = COMPONENT.exec(s);
    if (!m) return undefined;
    const [, whole = '', frac = '', unit = ''] = m;
    if (whole === '' && frac === '') return undefined;
    const scale = UNIT_NANOS[unit];
    if (scale === undefined) return undefined;
    total += BigInt(whole || '0') * scale;
    if (frac !== '') total += (BigInt(frac) * scale) / 10n ** BigInt(frac.length);
    pos = COMPONENT.lastIndex;
  }
  return total;
}

/** Nanoseconds to a protobuf Duration. */
export function nanosToDuration(nanos: bigint): ProtoDuration {
  return { seconds: Number(nanos / 1_000_000_000n), nanos: Number(nanos % 1_000_000_000n) };
}

/**
 * Istio duration string to protobuf Duration, `undefined` when absent or invalid (the loader
 * reports invalid ones; the translator just leaves the field unset).
 *
 * @example toDuration('7s') // { seconds: 7, nanos: 0 }
 */
export function toDuration(text: string | undefined): ProtoDuration | undefined {
  if (text === undefined) return undefined;
  const nanos = parseDurationNanos(text);
  return nanos === undefined ? undefined : nanosToDuration(nanos);
}

/** Milliseconds to a protobuf Duration (for defaults expressed as numbers). */
export function msToDuration(ms: number): ProtoDuration {
  return nanosToDuration(BigInt(Math.round(ms)) * 1_000_000n);
}
