// The benchmark suite: every case in one run, one table of figures measured side by side, an
// A/A gate that voids the run when the machine was too noisy. Never fails on a timing.
//
//   npm run bench                 full run (~10 min on 2 cores)
//   npm run bench:quick           fewer requests per round, still 5 rounds (~2 min)
//   npm run bench -- --write      also write the report into bench/RESULTS.md
//   npm run bench -- --disturb    burn CPU on the client core during the A/A copy's rounds (proves the gate)
//   npm run bench -- --only http,control,identity   a subset of the areas
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runControlCases } from './cases/control.js';
import { runHttpCases } from './cases/http.js';
import { runIdentityCase } from './cases/identity.js';
import type { Goal } from './lib/dataplane-report.js';
import { runVerdict, type GateResult } from './lib/gate.js';
import { describeMachine } from './lib/machine.js';
import { writeResults } from './lib/results-file.js';
import { formatTable, type Row } from './lib/table.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    disturb: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
  },
});
const quick = values.quick!;
const areas = new Set((values.only ?? 'http,grpc,control,identity').split(','));
const rounds = Math.max(5, Number(values.rounds ?? (quick ? 5 : 7)));
const log = (line: string) => process.stderr.write(`${line}\n`);
const started = Date.now();

const rows: Row[] = [];
const gates: GateResult[] = [];
const goals: Goal[] = [];
const notes: string[] = [];

if (areas.has('http')) {
  log(`data plane: ${rounds} rounds per payload …`);
  const http = await runHttpCases({ quick, rounds, log, ...(values.disturb ? { disturb: 'raw-aa' } : {}) });
  rows.push(...http.rows, ...http.skipped);
  gates.push(...http.gates);
  goals.push(...http.goals);
}

if (areas.has('grpc')) {
  const grpcFile = fileURLToPath(new URL('./grpc.ts', import.meta.url));
  // Only imported when it exports a runner: a script that runs itself on import would start a
  // second benchmark inside this one.
  const runner = existsSync(grpcFile) ? /export\s+(?:async\s+)?function\s+(runGrpcCases)\b/.exec(readFileSync(grpcFile, 'utf8'))?.[1] : undefined;
  if (runner) {
    const mod = (await import('./grpc' + '.js')) as Record<string, unknown>;
    const fn = mod[runner] as (o: { quick: boolean; rounds: number; log: typeof log }) => Promise<{ rows?: Row[]; gates?: GateResult[]; goals?: Goal[] }>;
    const out = await fn({ quick, rounds, log });
    rows.push(...(out.rows ?? []));
    gates.push(...(out.gates ?? []));
    goals.push(...(out.goals ?? []));
  } else {
    notes.push(existsSync(grpcFile)
      ? 'gRPC: TODO — bench/grpc.ts runs on its own (`node --import tsx bench/grpc.ts`, see the gRPC section) and exports no `runGrpcCases({ quick, rounds, log }) → { rows, gates, goals }`, so its raw grpc-js / grpc-js-xds ratios and its A/A check are not in this table yet.'
      : 'gRPC: TODO — bench/grpc.ts does not exist yet; raw grpc-js / grpc-js-xds comparisons are not in this table.');
  }
}

if (areas.has('control')) {
  const control = await runControlCases({ clients: quick ? [100] : [100, 1000], changes: 20, workers: 4, log });
  rows.push(...control.rows);
  goals.push(...control.goals);
  if (quick) notes.push('Control plane at 1,000 clients runs in the full run only.');
}

if (areas.has('identity')) {
  log('identity: SVID issuance …');
  rows.push(...(await runIdentityCase({ rounds: quick ? 2 : 5, burst: 500 })));
}

const verdict = runVerdict(gates);
const banner = verdict.valid
  ? `A/A check: VALID — ${gates.map((g) => g.reason).join('; ')}`
  : values.disturb
    ? `██ RUN VOID ██ the A/A check failed (${verdict.reasons.join('; ')}), as --disturb intended: the gate caught the CPU burner on the client core.`
    : `██ RUN VOID ██ the A/A check failed (${verdict.reasons.join('; ')}): the machine was too noisy for these ratios to mean anything; rerun on a quieter machine.`;
const command = `npm run bench${quick ? ':quick' : ''}${values.disturb ? ' -- --disturb' : ''}`;
const report = [
  `## ${quick ? 'Quick' : 'Full'} run, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${values.disturb ? ' (--disturb)' : ''}`,
  '',
  `Machine: ${describeMachine()}.  `,
  `Command: \`${command}\` (${rounds} rounds per payload after a warm-up; took ${Math.round((Date.now() - started) / 1000)} s).`,
  '',
  `**${banner}**`,
  '',
  formatTable(rows),
  '',
  '**Goals**',
  '',
  ...goals.map((g) => `- ${g.met === undefined ? '– n/a' : g.met ? '✔ met' : '✘ not met'}: ${g.name} — ${g.value}`),
  ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : []),
].join('\n');

console.log(report);
if (!verdict.valid) log(`\n${banner}`);
if (values.write) writeResults(fileURLToPath(new URL('./RESULTS.md', import.meta.url)), quick ? 'quick' : 'full', report);
