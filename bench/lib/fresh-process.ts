// Measurements that each run in a fresh process (bench/http-overhead.ts, bench/grpc-overhead.ts):
// the script re-runs itself with `--child <variant>` pinned to the client core and prints one
// JSON line, so no JIT state is shared between variants. Stopped by PID if the bench is
// interrupted.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { track, untrack } from './cleanup.js';
import { CLIENT_CPU, pinned } from './pin.js';

/**
 * Runs `script --child id …args` in a new pinned process and returns the JSON it printed last.
 * BENCH_CLIENT_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p") are passed to node.
 */
export function runFreshChild<T>(script: URL, id: string, args: string[]): Promise<T> {
  return runJsonChild<T>(id, ['--import', 'tsx', fileURLToPath(script), '--child', id, ...args]);
}

/**
 * V8 flags for children under callgrind (BENCH_CALLGRIND_NODE_FLAGS replaces them). V8 compiles
 * and collects on the main thread (--single-threaded), so when a background job finishes cannot
 * change the count. That alone was not enough: A/A copies still read 72k vs 112k instructions per
 * request (2026-12-04). V8 also decides *when* to collect from the clock (heap growing from the
 * measured allocation rate, the memory reducer's timers, idle-time GC) and from GC age (bytecode
 * and baseline-code flushing, then recompiling), and under valgrind's ~50× slowdown on a loaded
 * machine the clock is anything but steady. `--predictable-gc-schedule` fixes heap growing, idle
 * and memory-reducing behaviour; flushing is off, and the random and hash seeds are fixed. With
 * these, two processes doing the same work agree to 0.04% and the A/A row to 0.3% (which flag
 * matters most was not bisected). GC still runs, on a fixed schedule, so absolute counts are
 * higher than with V8's adaptive one; differences between variants are the figure to read.
 */
export const CALLGRIND_NODE_FLAGS = process.env.BENCH_CALLGRIND_NODE_FLAGS?.split(' ').filter(Boolean)
  ?? ['--single-threaded', '--predictable-gc-schedule', '--no-memory-reducer', '--no-flush-bytecode', '--no-flush-baseline-code', '--random-seed=1', '--hash-seed=1'];

/**
 * Runs `node …nodeArgs` in a new process pinned to the client core and returns the JSON line it
 * printed last (BENCH_CLIENT_FLAGS go before `nodeArgs`); `label` names it in errors.
 */
export function runJsonChild<T>(label: string, nodeArgs: string[]): Promise<T> {
  const flags = process.env.BENCH_CLIENT_FLAGS?.split(' ').filter(Boolean) ?? [];
  // BENCH_CALLGRIND=1: the child runs under valgrind's callgrind and its JSON gets `instructions`
  // (the whole process's count; differences between call counts give instructions per call).
  const cg = process.env.BENCH_CALLGRIND === '1' ? join(mkdtempSync(join(tmpdir(), 'meshlet-cg-')), 'out') : undefined;
  const argv = [...flags, ...nodeArgs];
  const [cmd, cmdArgs] = cg
    // Not pinned: a count does not depend on the core, and several callgrind runs can share the machine.
    ? pinned(-1, 'valgrind', ['--tool=callgrind', `--callgrind-out-file=${cg}`, '--dump-instr=no', process.execPath, ...CALLGRIND_NODE_FLAGS, ...argv])
    : pinned(CLIENT_CPU, process.execPath, argv);
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
    track(p.pid);
    let out = '';
    p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    p.once('exit', (code) => {
      untrack(p.pid);
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`${label}: exit ${code}: ${out}`));
      else if (cg) resolve({ ...(JSON.parse(line) as T), instructions: callgrindTotal(cg) });
      else resolve(JSON.parse(line) as T);
    });
  });
}

/** The middle value (upper median for an even count). */
export const median = (xs: readonly number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };

/** Runs `measure` `rounds` times per variant, the order rotated by one each round. */
export async function interleaved<V, T>(variants: readonly V[], rounds: number, measure: (variant: V) => Promise<T>): Promise<Map<V, T[]>> {
  const samples = new Map<V, T[]>(variants.map((v) => [v, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(i + r) % variants.length]!;
      const sample = await measure(v);
      samples.get(v)!.push(sample);
      // Progress on stderr, so an interrupted run still leaves its samples.
      process.stderr.write(`round ${r + 1}/${rounds} ${String(v)}: ${JSON.stringify(sample)}\n`);
    }
  }
  return samples;
}

/**
 * The `totals:` (instructions executed) of a callgrind output file, which is then removed
 * (BENCH_CALLGRIND_KEEP=1 keeps it and names it on stderr, for callgrind_annotate).
 */
function callgrindTotal(file: string): number {
  const text = readFileSync(file, 'utf8');
  if (process.env.BENCH_CALLGRIND_KEEP === '1') process.stderr.write(`callgrind output kept: ${file}\n`);
  else rmSync(dirname(file), { recursive: true, force: true });
  const m = /^(?:totals|summary): (\d+)/m.exec(text);
  if (!m) throw new Error(`no totals in callgrind output ${file}`);
  return Number(m[1]);
}

/**
 * Instructions per unit (request, call) for each variant under callgrind: every variant runs at
 * `n` and 3`n` units after the same warm-up, and the difference is divided by 2`n`, so start-up
 * and warm-up cancel out. Prints a markdown table against `base`.
 */
export async function callgrindTable<V extends string>(variants: readonly V[], base: V, n: number, title: string, run: (variant: V, units: number) => Promise<{ instructions?: number }>, jobs = 1): Promise<void> {
  process.env.BENCH_CALLGRIND = '1';
  // Counts do not depend on the load, so up to `jobs` children run at once.
  const tasks = variants.flatMap((v) => [{ v, units: n }, { v, units: 3 * n }]);
  const totals = new Map<string, number>();
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, async () => {
    while (next < tasks.length) {
      const t = tasks[next++]!;
      totals.set(`${t.v}@${t.units}`, (await run(t.v, t.units)).instructions!);
    }
  }));
  const per = new Map<V, number>(variants.map((v) => [v, (totals.get(`${v}@${3 * n}`)! - totals.get(`${v}@${n}`)!) / (2 * n)]));
  const b0 = per.get(base)!;
  console.log(`${title} (callgrind, node ${CALLGRIND_NODE_FLAGS.join(' ')}; ${n} vs ${3 * n} after the same warm-up), node ${process.version}`);
  console.log(`| variant | instructions | added | ratio | process totals (${n} / ${3 * n}) |`);
  console.log('| --- | --- | --- | --- | --- |');
  for (const v of variants) {
    const x = per.get(v)!;
    const g = (u: number) => `${(totals.get(`${v}@${u}`)! / 1e9).toFixed(3)} G`;
    console.log(`| ${v} | ${Math.round(x).toLocaleString('en')} | ${Math.round(x - b0).toLocaleString('en')} | ${(x / b0).toFixed(3)}× | ${g(n)} / ${g(3 * n)} |`);
  }
}
