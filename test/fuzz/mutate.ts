// Mutations for the config fuzz loop: text-level edits (YAML syntax, anchors, indentation) and
// value-level edits of the parsed documents (types, ranges, durations), from a seeded PRNG so a
// failing case is reproducible from its seed and index.
import { parseAllDocuments, stringify } from 'yaml';

/** xorshift32: tiny, deterministic, good enough to pick mutations. */
export class Rng {
  constructor(private state: number) {
    if (this.state === 0) this.state = 0x9e3779b9;
  }
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 0x1_0000_0000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

const TOKENS = ['&a ', '*a', '&b ', '*b', '[', ']', '{', '}', ': ', '- ', '---\n', '"', "'", '#', '\t', '|\n', '>-\n', '!!binary ', '!!str ', '? ', '<<: *a\n', ',', '\\', '%YAML 1.1\n', '\u0000', '\r', '\ufeff', 'é', '💥', '~', 'null', '...\n'];
const NUMBERS = [0, -1, 1, 2, 100, 101, 65535, 65536, 2147483647, 2147483648, 4294967295, 4294967296, 1e400, 9007199254740993, 1.5, -0.5, 5000011, 8388609];
const DURATIONS = ['0', '0s', '1ms', '0.1ms', '1.5ns', '1us', '600h', '2562047h', '2562048h', '99999999999999999999h', '-1s', '1h30m', '1d', 's', '.5s', '1.s', ''];
const STRINGS = ['', ' ', '*', '.*', '(a+)+$', '(', '[', 'a'.repeat(300), '/', '//..//', '%2e%2e', 'ÿ', '💥', 'UPPER', 'reviews', 'v9', '-', '-a-', 'a.b', '*.x', '1.2.3.4', '::1', '10.0.0.0/8', '0.0.0.0/33'];
const VALUES: unknown[] = [
  0, -1, 1, 2147483647, 2147483648, 4294967295, 4294967296, 1e400, -1e400, 9007199254740993, 1.5, 0.0001, Number.NaN,
  '', ' ', 'x'.repeat(300), '*', '.*', '(a+)+$', '[', '\\', '/', '//..//', '%2e%2e', 'ÿ', '0', 'true', 'null',
  '1ms', '0s', '0.1ms', '1.5ns', '600h', '2562047h', '2562048h', '99999999999999999999h', '-1s', '1h30m', '1d', 's',
  true, false, null, [], {}, [null], { '': 1 }, { __proto__: 1 }, { constructor: 'x' }, ['a', 1, true], { exact: '' },
  { regex: '(' }, { prefix: '' }, { number: 99999 }, 'reviews', 'reviews.default.svc.cluster.local', '*.example.com', 'v1', 'DENY',
];

function textMutation(text: string, rng: Rng): string {
  const lines = text.split('\n');
  const at = rng.int(lines.length);
  switch (rng.int(8)) {
    case 0: {
      const i = rng.int(text.length + 1);
      return text.slice(0, i) + rng.pick(TOKENS) + text.slice(i);
    }
    case 1: {
      const i = rng.int(text.length + 1);
      return text.slice(0, i) + text.slice(i + 1 + rng.int(20));
    }
    case 2:
      lines.splice(at, 1);
      return lines.join('\n');
    case 3:
      lines.splice(at, 0, lines[rng.int(lines.length)] ?? '');
      return lines.join('\n');
    case 4: {
      const j = rng.int(lines.length);
      [lines[at], lines[j]] = [lines[j] ?? '', lines[at] ?? ''];
      return lines.join('\n');
    }
    case 5:
      lines[at] = rng.int(2) ? `  ${lines[at]}` : (lines[at] ?? '').replace(/^ {1,2}/, '');
      return lines.join('\n');
    case 6: {
      // An anchor on one line's value and aliases to it on others.
      const l = lines[at] ?? '';
      const colon = l.indexOf(': ');
      if (colon < 0) return text;
      lines[at] = `${l.slice(0, colon + 2)}&z ${l.slice(colon + 2)}`;
      for (let n = rng.int(4); n >= 0; n--) {
        const k = at + 1 + rng.int(Math.max(1, lines.length - at - 1));
        const target = lines[k] ?? '';
        const c = target.indexOf(': ');
        if (c >= 0) lines[k] = `${target.slice(0, c + 2)}*z`;
      }
      return lines.join('\n');
    }
    default: {
      const i = rng.int(text.length);
      const c = text.charCodeAt(i);
      return text.slice(0, i) + String.fromCharCode((c + 1 + rng.int(94)) % 128) + text.slice(i + 1);
    }
  }
}

type Json = unknown;

function leaves(value: Json, path: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(path);
  if (Array.isArray(value)) value.forEach((v, i) => leaves(v, [...path, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) leaves(v, [...path, k], out);
  return out;
}

function valueMutation(text: string, rng: Rng): string {
  const docs = parseAllDocuments(text, { logLevel: 'error' }).map((d) => d.toJS({ maxAliasCount: 100 }) as Json);
  const doc = rng.int(docs.length);
  let root = docs[doc];
  const paths = leaves(root);
  const path = rng.pick(paths);
  let value = structuredClone(rng.pick(VALUES));
  // Half the time a value of the leaf's own kind: what reaches the range and format checks.
  let leaf: Json = root;
  for (const key of path) leaf = (leaf as Record<string | number, Json>)[key];
  if (rng.int(2) === 0) {
    if (typeof leaf === 'number') value = rng.pick(NUMBERS);
    else if (typeof leaf === 'string') value = /^[\d.]+(ms|s|m|h)$/.test(leaf) ? rng.pick(DURATIONS) : rng.pick(STRINGS);
    else if (typeof leaf === 'boolean') value = !leaf;
  }
  if (path.length === 0) root = value;
  else {
    let parent = root as Record<string | number, Json>;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
    const last = path[path.length - 1] as string | number;
    const op = rng.int(4);
    if (op === 0 && !Array.isArray(parent)) delete parent[last];
    else if (op === 1 && !Array.isArray(parent)) parent[`${String(last)}X`] = value; // unknown field
    else if (op === 2 && Array.isArray(parent)) parent.push(structuredClone(parent[last as number]));
    else parent[last] = value;
  }
  docs[doc] = root;
  return docs.map((d) => stringify(d)).join('---\n');
}

/** One mutant of `text`: 1-3 mutations, value-level or text-level. */
export function mutate(text: string, rng: Rng): string {
  let out = text;
  for (let n = 1 + rng.int(3); n > 0; n--) {
    try {
      out = rng.int(2) === 0 ? valueMutation(out, rng) : textMutation(out, rng);
    } catch {
      out = textMutation(out, rng); // the mutant no longer parses as a value tree: keep editing text
    }
  }
  return out;
}
