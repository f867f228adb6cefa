// The A/A gate: the baseline measured against a second copy of itself in the same run. If two
// identical setups disagree by more than the tolerance, the machine was too noisy for any ratio
// in the run to mean something, and the whole run is VOID (reported, never a failed exit).
import { summarize, type Summary } from './summary.js';

export const AA_TOLERANCE = 0.03;

export interface GateResult {
  /** Per-round ratio copy / baseline, summarized. */
  ratio: Summary;
  valid: boolean;
  reason: string;
}

/**
 * Judges paired per-round samples (higher is better, e.g. throughput) of the baseline and its
 * copy. Valid when the median of the per-round ratios is within ±tolerance of 1.
 *
 * @example
 * aaGate([100, 101, 99, 100, 100], [101, 100, 100, 99, 100]).valid // true
 */
export function aaGate(baseline: readonly number[], copy: readonly number[], tolerance = AA_TOLERANCE): GateResult {
  if (baseline.length !== copy.length || baseline.length === 0) {
    return { ratio: summarize([]), valid: false, reason: `need paired rounds (got ${baseline.length} and ${copy.length})` };
  }
  const ratio = summarize(copy.map((c, i) => c / baseline[i]!));
  if (!Number.isFinite(ratio.median)) return { ratio, valid: false, reason: 'no usable rounds' };
  const off = ratio.median - 1;
  const valid = Math.abs(off) <= tolerance + 1e-9; // 1.03 - 1 is 0.030000000000000027
  const pctOff = `${off >= 0 ? '+' : ''}${(off * 100).toFixed(1)}%`;
  return { ratio, valid, reason: valid ? `A/A ${pctOff} within ±${tolerance * 100}%` : `A/A ${pctOff} outside ±${tolerance * 100}%` };
}

/** The run is valid only when every A/A check in it is. */
export function runVerdict(gates: readonly GateResult[]): { valid: boolean; reasons: string[] } {
  const bad = gates.filter((g) => !g.valid);
  return { valid: gates.length > 0 && bad.length === 0, reasons: gates.length === 0 ? ['no A/A check ran'] : bad.map((g) => g.reason) };
}
