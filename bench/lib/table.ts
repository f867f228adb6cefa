// The one table a run prints: every case is a row with the same columns; cells carry their units
// because the areas (data plane, control plane, identity) measure different things.
import type { Summary } from './summary.js';

export interface Row {
  case: string;
  params: string;
  /** The headline ratio or rate: median [min–max] over rounds. */
  result: string;
  p50: string;
  p99: string;
  cpu: string;
  memory: string;
  stall: string;
  goal: string;
}

const HEAD: Array<[keyof Row, string]> = [
  ['case', 'case'], ['params', 'params'], ['result', 'result: median [min–max]'], ['p50', 'p50'], ['p99', 'p99'],
  ['cpu', 'CPU'], ['memory', 'memory'], ['stall', 'loop delay p99 / max'], ['goal', 'goal'],
];

export function formatTable(rows: readonly Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${HEAD.map(([, h]) => h).join(' | ')} |`,
    `| ${HEAD.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${HEAD.map(([k]) => esc(r[k] || '')).join(' | ')} |`),
  ].join('\n');
}

/** "1.23" with the given decimals, "-" when unknown. */
export function num(v: number, decimals = 1): string {
  return Number.isFinite(v) ? v.toFixed(decimals) : '-';
}

/** "0.93× [0.91–0.95]". */
export function ratioCell(s: Summary, unit = '×'): string {
  return Number.isFinite(s.median) ? `${num(s.median, 2)}${unit} [${num(s.min, 2)}–${num(s.max, 2)}]` : '-';
}

/** "+41 µs [35–50]" for a signed added amount. */
export function addedCell(s: Summary, unit: string, decimals = 0): string {
  if (!Number.isFinite(s.median)) return '-';
  const sign = (v: number) => (v >= 0 ? '+' : '');
  return `${sign(s.median)}${num(s.median, decimals)} ${unit} [${num(s.min, decimals)}…${num(s.max, decimals)}]`;
}

/** "✔ met (≥ 0.90×)" or "✘ not met (≥ 0.90×)" or "n/a". */
export function verdict(met: boolean | undefined, goal: string): string {
  if (met === undefined) return `n/a (${goal})`;
  return `${met ? '✔ met' : '✘ not met'} (${goal})`;
}
