/**
 * Every regex that comes from config (route path, authority, header and query matchers, path
 * rewrites, and later authorization) has RE2 semantics, as in Istio and Envoy (safe_regex is
 * RE2) and in grpc-js-xds (whose matcher is RE2 too): validated with RE2's rules, matched in
 * time linear in the input. JavaScript's RegExp is never used on a config pattern: it accepts
 * what RE2 rejects (`(?=…)`, `\1`, `a{1001}`), reads some RE2 syntax differently (`\pL`,
 * `\A…\z`, `[[:alpha:]]`), rejects `(?s)`, and backtracks (`(a+)+b` against 26 characters
 * blocked the event loop for 402 ms).
 *
 * Engine: re2js, RE2 ported to pure JavaScript (bench/regex.ts: 0.3–3 µs per match, 5–10×
 * RegExp on typical route patterns, where re2-wasm costs 7–17 µs marshalling strings into WASM).
 * It is loaded on the first pattern that needs it. Patterns that are a plain literal, or a
 * literal with a leading and/or trailing `.*`, are matched without any regex engine (equals,
 * startsWith, endsWith, includes): exactly RE2's answer, since `.` matches everything but
 * `\n` and `.*` therefore means "any text without a newline".
 */
import { createRequire } from 'node:module';

/** A compiled pattern that must match the whole input (Envoy's safe_regex semantics). */
export interface FullMatchRegex {
  /** The pattern as written. */
  readonly source: string;
  /** True when the whole of `input` matches. Linear time. */
  test(input: string): boolean;
}

/** A compiled pattern for substitution (Envoy's RegexMatchAndSubstitute): every match is replaced. */
export interface RewriteRegex {
  readonly source: string;
  /** Replaces every match; `replacement` uses `$1`…`$9` for groups and `$$` for a dollar sign. */
  replaceAll(input: string, replacement: string): string;
}

interface Re2Pattern {
  matches(input: string): boolean;
  matcher(input: string): { replaceAll(replacement: string): string };
}
interface Re2Module { RE2JS: { compile(pattern: string): Re2Pattern } }

let re2: Re2Module | undefined;
/** re2js, loaded on first use (~260 KB of JavaScript a process without config regexes never parses). */
function engine(): Re2Module {
  re2 ??= createRequire(import.meta.url)('re2js') as Re2Module;
  return re2;
}

/** Bound on a pattern's length, before RE2 even parses it (RE2's own repeat limit is 1000). */
export const MAX_REGEX_LENGTH = 4096;

/**
 * Why `pattern` is not a valid RE2 regex (RE2's own message), or undefined when it is.
 *
 * @example
 * ```ts
 * regexProblem('(?=x)'); // 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`'
 * ```
 */
export function regexProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex is ${pattern.length} characters long (at most ${MAX_REGEX_LENGTH})`;
  if (literalShape(pattern)) return undefined;
  try {
    engine().RE2JS.compile(pattern);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Metacharacters of RE2 syntax; any other character stands for itself. */
const META = new Set(['\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$']);

/**
 * `text` when `s` is a literal: no metacharacters except escaped punctuation (`\.`, `\/`, `\-`).
 * Escaped letters and digits (`\d`, `\b`, `\1`) are classes, assertions or errors, not literals.
 */
function literal(s: string): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const next = s[i + 1];
      if (next === undefined || /[0-9A-Za-z]/.test(next)) return undefined;
      out += next;
      i++;
    } else if (META.has(c)) {
      return undefined;
    } else {
      out += c;
    }
  }
  return out;
}

type Shape = { kind: 'exact' | 'prefix' | 'suffix' | 'contains'; text: string };

/** `L`, `L.*`, `.*L`, `.*L.*` with L a literal; anything else needs the engine. */
function literalShape(pattern: string): Shape | undefined {
  let body = pattern;
  const lead = body.startsWith('.*');
  if (lead) body = body.slice(2);
  // A trailing `.*` that is not an escaped dot followed by `*` (`\.*` is "any number of dots").
  const trail = body.endsWith('.*') && !body.endsWith('\\.*');
  if (trail) body = body.slice(0, -2);
  const text = literal(body);
  if (text === undefined) return undefined;
  return { kind: lead && trail ? 'contains' : lead ? 'suffix' : trail ? 'prefix' : 'exact', text };
}

const noNewline = (s: string, from: number, to: number): boolean => {
  const at = s.indexOf('\n', from);
  return at < 0 || at >= to;
};

/** The matcher for a literal shape: exactly RE2's full-match answer (`.*` stops at `\n`). */
function shapeMatcher(shape: Shape): (input: string) => boolean {
  const t = shape.text;
  switch (shape.kind) {
    case 'exact': return (v) => v === t;
    case 'prefix': return (v) => v.startsWith(t) && noNewline(v, t.length, v.length);
    case 'suffix': return (v) => v.endsWith(t) && noNewline(v, 0, v.length - t.length);
    case 'contains': return (v) => v.indexOf('\n') < 0 && v.includes(t);
  }
}

/**
 * Compiles `pattern` for full matching. Throws a plain Error with RE2's message when it is
 * not valid RE2 (callers add the field path).
 *
 * @example
 * ```ts
 * compileFullMatch('/api/v[0-9]+/.*').test('/api/v2/reviews'); // true
 * ```
 */
export function compileFullMatch(pattern: string): FullMatchRegex {
  const problem = pattern.length > MAX_REGEX_LENGTH ? regexProblem(pattern) : undefined;
  if (problem) throw new Error(problem);
  const shape = literalShape(pattern);
  if (shape) return { source: pattern, test: shapeMatcher(shape) };
  const re = engine().RE2JS.compile(pattern);
  return { source: pattern, test: (input) => re.matches(input) };
}

/**
 * Compiles `pattern` for substitution (every non-overlapping match, leftmost first, as RE2's
 * GlobalReplace in Envoy). Throws with RE2's message when invalid.
 *
 * @example
 * ```ts
 * compileRewrite('^/v1/(.*)$').replaceAll('/v1/reviews', '/v2/$1'); // '/v2/reviews'
 * ```
 */
export function compileRewrite(pattern: string): RewriteRegex {
  const problem = regexProblem(pattern);
  if (problem) throw new Error(problem);
  const re = engine().RE2JS.compile(pattern);
  return { source: pattern, replaceAll: (input, replacement) => re.matcher(input).replaceAll(replacement) };
}
