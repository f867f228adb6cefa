/**
 * A bounded reader of the Prometheus text format (0.0.4) for the graph scraper: it walks the
 * text once, char by char (no regular expressions), and hands back only samples of the families
 * asked for, as (name, raw label text, value). Labels are parsed separately, once per new series,
 * because a scrape repeats the same series every interval.
 */

/**
 * Calls `onSample` for every sample line whose metric name is in `names`; stops after
 * `maxSamples` of them. Returns how many were passed on. Malformed lines are skipped.
 *
 * @example
 * ```ts
 * scanSamples(text, new Set(['istio_requests_total']), 10_000, (name, labels, value) => { … });
 * ```
 */
export function scanSamples(text: string, names: ReadonlySet<string>, maxSamples: number, onSample: (name: string, labels: string, value: number) => void): number {
  let n = 0;
  let pos = 0;
  while (pos < text.length && n < maxSamples) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    if (text.charCodeAt(pos) !== 0x23 /* # */ && end > pos && readLine(text, pos, end, names, onSample)) n++;
    pos = end + 1;
  }
  return n;
}

function readLine(text: string, start: number, end: number, names: ReadonlySet<string>, onSample: (name: string, labels: string, value: number) => void): boolean {
  let i = start;
  while (i < end && text.charCodeAt(i) !== 0x7b /* { */ && text.charCodeAt(i) !== 0x20) i++;
  const name = text.slice(start, i);
  if (!names.has(name)) return false;
  let labels = '';
  if (text.charCodeAt(i) === 0x7b) {
    const close = closingBrace(text, i + 1, end);
    if (close < 0) return false;
    labels = text.slice(i + 1, close);
    i = close + 1;
  }
  if (text.charCodeAt(i) !== 0x20) return false;
  let j = i + 1;
  while (j < end && text.charCodeAt(j) !== 0x20) j++;
  const value = parseValue(text.slice(i + 1, j));
  if (value === undefined) return false;
  onSample(name, labels, value);
  return true;
}

/** Index of the `}` closing a label set that starts at `from`, skipping quoted values; -1 if none. */
function closingBrace(text: string, from: number, end: number): number {
  let quoted = false;
  for (let i = from; i < end; i++) {
    const c = text.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x7d) return i;
  }
  return -1;
}

function parseValue(raw: string): number | undefined {
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  if (raw === '' || raw === 'NaN') return undefined;
  const v = Number(raw);
  return Number.isNaN(v) ? undefined : v;
}

/**
 * Parses label text (`a="x",b="y"`, values with `\\`, `\"`, `\n` escapes) into an object;
 * undefined when malformed. At most `maxLabels` labels (Istio's metrics have 25).
 *
 * @example
 * ```ts
 * parseLabelText('reporter="source",response_code="200"'); // { reporter: 'source', response_code: '200' }
 * ```
 */
export function parseLabelText(raw: string, maxLabels = 64): Record<string, string> | undefined {
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  let i = 0;
  let count = 0;
  while (i < raw.length) {
    const eq = raw.indexOf('=', i);
    if (eq < 0 || raw.charCodeAt(eq + 1) !== 0x22 || ++count > maxLabels) return undefined;
    const name = raw.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < raw.length; j++) {
      const c = raw[j]!;
      if (c === '"') break;
      if (c === '\\') {
        const n = raw[++j];
        value += n === 'n' ? '\n' : n ?? '';
      } else value += c;
    }
    if (j >= raw.length) return undefined;
    labels[name] = value;
    i = j + 1;
    if (raw[i] === ',') i++;
  }
  return labels;
}
