/**
 * Prometheus text exposition format 0.0.4 (what `/stats/prometheus` answers): `# HELP` and
 * `# TYPE` once per family, one line per series, histograms as cumulative `_bucket{le=…}` lines
 * ending in `le="+Inf"`, then `_sum` and `_count`. Label values are escaped once, when a series is
 * created; rendering only concatenates pre-built strings and numbers.
 */

/** The content type Prometheus expects for the text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Escapes a label value: backslash, double quote and line feed (the format's three escapes). */
export function escapeLabelValue(value: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c !== 0x5c && c !== 0x22 && c !== 0x0a) continue;
    out += value.slice(from, i) + (c === 0x5c ? '\\\\' : c === 0x22 ? '\\"' : '\\n');
    from = i + 1;
  }
  return from === 0 ? value : out + value.slice(from);
}

/** Escapes HELP text: backslash and line feed only (quotes are literal there). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A metric or label name as the data model allows (`[a-zA-Z_:][a-zA-Z0-9_:]*`, no `:` in labels). */
export function isValidName(name: string, label = false): boolean {
  if (name.length === 0 || name.length > 200) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || (!label && c === 0x3a);
    if (!letter && !(i > 0 && c >= 0x30 && c <= 0x39)) return false;
  }
  return true;
}

/** `{a="x",b="y"}` from parallel name/value lists (values escaped here); `''` when there are none. */
export function renderLabels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  let out = '{';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += ',';
    out += `${names[i]}="${escapeLabelValue(values[i] ?? '')}"`;
  }
  return out + '}';
}

/** A sample value as Prometheus writes it (`+Inf`, `-Inf`, `NaN`, else the shortest decimal). */
export function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

/** `le` values rendered once per bucket layout. */
export function renderBucketBounds(bounds: readonly number[]): string[] {
  return [...bounds.map(formatValue), '+Inf'];
}

/**
 * Appends one histogram series. `counts` holds non-cumulative counts per bucket (one per bound,
 * then the overflow bucket) at `offset`, followed by the sum; the count is their total.
 * `labels` is the series' rendered label list without braces (`a="x",b="y"`, may be empty).
 */
export function appendHistogram(out: string[], name: string, labels: string, les: readonly string[], counts: Float64Array, offset: number): void {
  const sep = labels === '' ? '' : ',';
  let cumulative = 0;
  for (let i = 0; i < les.length; i++) {
    cumulative += counts[offset + i]!;
    out.push(`${name}_bucket{${labels}${sep}le="${les[i]}"} ${cumulative}`);
  }
  const braces = labels === '' ? '' : `{${labels}}`;
  out.push(`${name}_sum${braces} ${formatValue(counts[offset + les.length]!)}`);
  out.push(`${name}_count${braces} ${cumulative}`);
}

/** Appends `# HELP` and `# TYPE` for a family. */
export function appendHeader(out: string[], name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
  out.push(`# HELP ${name} ${escapeHelp(help)}`);
  out.push(`# TYPE ${name} ${type}`);
}

/** Index of the first bound `>= value` (Prometheus buckets are `le`), `bounds.length` for overflow. */
export function bucketIndex(bounds: Float64Array, value: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bounds[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
