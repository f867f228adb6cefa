/** Median with min and max of per-round samples: how every figure in the table is reported. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(values: readonly number[]): Summary {
  const ok = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (ok.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = ok.length >> 1;
  // The true median (mean of the two middle values for an even count), not nearest-rank, so
  // an even number of rounds is not biased low.
  const median = ok.length % 2 ? ok[mid]! : (ok[mid - 1]! + ok[mid]!) / 2;
  return { median, min: ok[0]!, max: ok[ok.length - 1]!, n: ok.length };
}

/** Nearest-rank percentile of an unsorted sample (NaN when empty). */
export function pct(values: ArrayLike<number>, p: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
}
