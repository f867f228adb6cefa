// Instructions per request by function, from two callgrind outputs of the same variant at two
// request counts (what `bench/http-overhead.ts --callgrind` runs; keep the files with
// BENCH_CALLGRIND_KEEP=1): (large − small) / (difference in requests), per function, so the
// start-up and the warm-up cancel. Give a second pair to compare two variants (B − A per request).
// V8's JIT code has no symbols under valgrind: it is summed as one "JIT code" row; builtins
// (Builtins_KeyedLoadIC_Megamorphic, …), the GC and node's C++ keep their names.
//
//   node --import tsx bench/callgrind-diff.ts --requests 4000 SMALL LARGE [SMALL_B LARGE_B] [--top 30]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { requests: { type: 'string' }, top: { type: 'string', default: '30' } },
});
if (!args.requests || (positionals.length !== 2 && positionals.length !== 4)) {
  throw new Error('usage: callgrind-diff.ts --requests N SMALL LARGE [SMALL_B LARGE_B] [--top 30]');
}
const n = Number(args.requests);

/** Instructions by function (JIT addresses summed), and the program total. */
function load(file: string): { byFn: Map<string, number>; total: number } {
  const r = spawnSync('callgrind_annotate', ['--threshold=100', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`callgrind_annotate ${file}: ${r.stderr}`);
  const byFn = new Map<string, number>();
  let total = 0;
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$/.exec(line);
    if (!m) continue;
    const count = Number(m[1]!.replaceAll(',', ''));
    let name = m[2]!;
    if (name.includes('PROGRAM TOTALS')) { total = count; continue; }
    name = name.startsWith('???:0x') ? 'JIT code' : name.replace(/ \[[^\]]*\]$/, '').replace(/^\?\?\?:/, '');
    byFn.set(name, (byFn.get(name) ?? 0) + count);
  }
  return { byFn, total };
}

function perRequest(small: string, large: string): { byFn: Map<string, number>; total: number } {
  const a = load(small);
  const b = load(large);
  const byFn = new Map<string, number>();
  for (const k of new Set([...a.byFn.keys(), ...b.byFn.keys()])) byFn.set(k, ((b.byFn.get(k) ?? 0) - (a.byFn.get(k) ?? 0)) / n);
  return { byFn, total: (b.total - a.total) / n };
}

const A = perRequest(positionals[0]!, positionals[1]!);
const B = positionals.length === 4 ? perRequest(positionals[2]!, positionals[3]!) : undefined;
const top = Number(args.top);
if (!B) {
  console.log(`instructions per request: ${A.total.toFixed(0)}`);
  console.log('| instructions / request | function |\n| --- | --- |');
  for (const [k, v] of [...A.byFn].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`| ${v.toFixed(0)} | \`${k.slice(0, 140)}\` |`);
} else {
  console.log(`instructions per request: A ${A.total.toFixed(0)}, B ${B.total.toFixed(0)}, B − A ${(B.total - A.total).toFixed(0)}`);
  console.log('| B − A / request | A | B | function |\n| --- | --- | --- | --- |');
  const keys = new Set([...A.byFn.keys(), ...B.byFn.keys()]);
  const rows = [...keys].map((k) => [k, A.byFn.get(k) ?? 0, B.byFn.get(k) ?? 0] as const).sort((x, y) => Math.abs(y[2] - y[1]) - Math.abs(x[2] - x[1]));
  for (const [k, a, b] of rows.slice(0, top)) console.log(`| ${(b - a).toFixed(0)} | ${a.toFixed(0)} | ${b.toFixed(0)} | \`${k.slice(0, 140)}\` |`);
}
