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
    // --single-threaded: V8 compiles on the main thread, so when the JIT finishes cannot change the count.
    ? pinned(CLIENT_CPU, 'valgrind', ['--tool=callgrind', `--callgrind-out-file=${cg}`, '--dump-instr=no', process.execPath, '--single-threaded', ...argv])
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
      samples.get(v)!.push(await measure(v));
    }
  }
  return samples;
}

/** The `totals:` (instructions executed) of a callgrind output file, which is then removed. */
function callgrindTotal(file: string): number {
  const text = readFileSync(file, 'utf8');
  rmSync(dirname(file), { recursive: true, force: true });
  const m = /^(?:totals|summary): (\d+)/m.exec(text);
  if (!m) throw new Error(`no totals in callgrind output ${file}`);
  return Number(m[1]);
}

/**
 * Instructions per unit (request, call) for each variant under callgrind: every variant runs at
 * `n` and 3`n` units after the same warm-up, and the difference is divided by 2`n`, so start-up
 * and warm-up cancel out. Prints a markdown table against `base`.
 */
export async function callgrindTable<V extends string>(variants: readonly V[], base: V, n: number, title: string, run: (variant: V, units: number) => Promise<{ instructions?: number }>): Promise<void> {
  process.env.BENCH_CALLGRIND = '1';
  const per = new Map<V, number>();
  for (const v of variants) {
    const a = await run(v, n);
    const b = await run(v, 3 * n);
    per.set(v, (b.instructions! - a.instructions!) / (2 * n));
  }
  const b0 = per.get(base)!;
  console.log(`${title} (callgrind, V8 --single-threaded; ${n} vs ${3 * n} after the same warm-up), node ${process.version}`);
  console.log('| variant | instructions | added | ratio |');
  console.log('| --- | --- | --- | --- |');
  for (const v of variants) {
    const x = per.get(v)!;
    console.log(`| ${v} | ${Math.round(x).toLocaleString('en')} | ${Math.round(x - b0).toLocaleString('en')} | ${(x / b0).toFixed(3)}× |`);
  }
}
