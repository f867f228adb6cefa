// Regex match cost on the hot path, one run, side by side: JavaScript's RegExp (backtracking),
// re2js (RE2 ported to pure JS, linear time) and re2-wasm (Google's RE2 compiled to WASM), on
// the kinds of patterns Istio routes carry (path, header, authority), full-match as Envoy's
// safe_regex does; plus the backtracking case `(a+)+b`, where only RegExp blows up.
//
//   node --import tsx bench/regex.ts
import { RE2JS } from 're2js';
import { RE2 } from 're2-wasm';

interface Case { name: string; pattern: string; input: string }
const CASES: Case[] = [
  { name: 'path /api/v[0-9]+/.*', pattern: '/api/v[0-9]+/.*', input: '/api/v2/reviews/12345?x=1' },
  { name: 'path ^/reviews/\\d+$ (miss)', pattern: '/reviews/\\d+', input: '/ratings/0123456789' },
  { name: 'header .*jason.*', pattern: '.*jason.*', input: 'Mozilla/5.0 (X11; Linux x86_64) user=jason; lang=en' },
  { name: 'authority (.+\\.)?example\\.com', pattern: '(.+\\.)?example\\.com', input: 'reviews.default.example.com' },
  { name: 'header alternation (Chrome|Firefox|Safari)/[0-9.]+.*', pattern: '(?:.*)(Chrome|Firefox|Safari)/[0-9.]+.*', input: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36' },
];

function time(fn: () => boolean, iterations: number): number {
  let sink = 0;
  for (let i = 0; i < iterations / 10; i++) if (fn()) sink++; // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (fn()) sink++;
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  if (sink < 0) throw new Error('unreachable');
  return ns;
}

const N = Number(process.env.REGEX_ITERATIONS ?? 200_000);
const rows: string[] = ['| pattern | input length | RegExp ns/match | re2js ns/match | re2-wasm ns/match | re2js / RegExp | re2-wasm / RegExp |', '| --- | --- | --- | --- | --- | --- | --- |'];
for (const c of CASES) {
  const js = new RegExp(`^(?:${c.pattern})$`);
  const r2js = RE2JS.compile(c.pattern);
  const wasm = new RE2(`^(?:${c.pattern})$`, 'u');
  const results = [js.test(c.input), r2js.matches(c.input), wasm.test(c.input)];
  if (new Set(results).size !== 1) throw new Error(`${c.name}: engines disagree ${results}`);
  // Three interleaved passes; the median of each.
  const samples: number[][] = [[], [], []];
  for (let pass = 0; pass < 3; pass++) {
    samples[0]!.push(time(() => js.test(c.input), N));
    samples[1]!.push(time(() => r2js.matches(c.input), N));
    samples[2]!.push(time(() => wasm.test(c.input), N / 4));
  }
  const [a, b, w] = samples.map((s) => s.sort((x, y) => x - y)[1]!) as [number, number, number];
  rows.push(`| ${c.name} | ${c.input.length} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${w.toFixed(0)} | ${(b / a).toFixed(1)}× | ${(w / a).toFixed(1)}× |`);
}
// Catastrophic backtracking: `(a+)+b` against n a's (no b), once each.
const evil = (n: number) => 'a'.repeat(n);
const once = (fn: () => boolean): number => { const t0 = process.hrtime.bigint(); fn(); return Number(process.hrtime.bigint() - t0) / 1e6; };
const jsEvil = /^(?:(a+)+b)$/;
const r2Evil = RE2JS.compile('(a+)+b');
const wasmEvil = new RE2('^(?:(a+)+b)$', 'u');
for (const n of [20, 24]) {
  rows.push(`| (a+)+b, no match (ms, once) | ${n} | ${once(() => jsEvil.test(evil(n))).toFixed(1)} ms | ${once(() => r2Evil.matches(evil(n))).toFixed(3)} ms | ${once(() => wasmEvil.test(evil(n))).toFixed(3)} ms | | |`);
}
const startup = (() => {
  const t0 = process.hrtime.bigint();
  RE2JS.compile('/api/v[0-9]+/(reviews|ratings)/[a-z0-9-]{1,64}');
  const t1 = process.hrtime.bigint();
  new RE2('^(?:/api/v[0-9]+/(reviews|ratings)/[a-z0-9-]{1,64})$', 'u');
  const t2 = process.hrtime.bigint();
  return `compile one route pattern: re2js ${(Number(t1 - t0) / 1e3).toFixed(0)} µs, re2-wasm ${(Number(t2 - t1) / 1e3).toFixed(0)} µs`;
})();
process.stdout.write(`Regex match cost, Node ${process.version}, ${N} iterations per engine and case, median of 3 interleaved passes.\n\n${rows.join('\n')}\n\n${startup}\n`);
