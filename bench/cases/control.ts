// Control-plane cases: convergence (the existing bench, called as is), server memory per client,
// server CPU per push and the reconnect storm after a restart (bench/lib/control-extras.ts).
import { runControlExtras } from '../lib/control-extras.js';
import type { Goal } from '../lib/dataplane-report.js';
import { num, verdict, type Row } from '../lib/table.js';
import { runConvergence } from '../xds-convergence.js';

const P99_GOAL_MS: Record<number, number> = { 100: 25, 1000: 150 };
const MEMORY_GOAL_KIB = 64;

export async function runControlCases(o: { clients: number[]; changes: number; workers: number; log?: (l: string) => void }): Promise<{ rows: Row[]; goals: Goal[] }> {
  const log = o.log ?? (() => {});
  const rows: Row[] = [];
  const goals: Goal[] = [];
  const blank = { p50: '', p99: '', cpu: '', memory: '', stall: '', goal: '' };
  for (const n of o.clients) {
    log(`control plane: convergence with ${n} clients …`);
    const conv = await runConvergence({ clients: n, changes: o.changes, workers: o.workers });
    const goalMs = P99_GOAL_MS[n];
    const params = `N=${n} clients in ${conv.workers} processes; ${conv.changes} changes`;
    for (const k of conv.rows) {
      const met = goalMs === undefined ? undefined : k.p99 <= goalMs;
      goals.push({ name: `convergence p99, ${k.kind}, ${n} clients`, met, value: `${num(k.p99)} ms` });
      rows.push({
        ...blank,
        case: `xDS convergence: ${k.kind}`, params,
        result: `max ${num(k.max)} ms; first client p50 ${num(k.firstP50)} ms${k.lost ? `; ${k.lost} lost` : ''}`,
        p50: `${num(k.p50)} ms`, p99: `${num(k.p99)} ms`,
        goal: goalMs === undefined ? '' : verdict(met, `p99 ≤ ${goalMs} ms`),
      });
    }
    const memMet = conv.perClientRssKiB <= MEMORY_GOAL_KIB;
    goals.push({ name: `server memory per client, ${n} clients`, met: memMet, value: `${num(conv.perClientRssKiB)} KiB RSS` });
    rows.push({
      ...blank, case: 'server memory per connected client', params: `N=${n}`,
      result: `${num(conv.perClientRssKiB)} KiB RSS`, memory: `RSS ${num(conv.perClientRssKiB)} KiB, heap ${num(conv.perClientHeapKiB)} KiB`,
      goal: verdict(memMet, `≤ ${MEMORY_GOAL_KIB} KiB`),
    });

    log(`control plane: CPU per push and reconnect storm with ${n} clients …`);
    const x = await runControlExtras({ clients: n, changes: o.changes, workers: o.workers, log });
    rows.push({
      ...blank, case: 'server CPU per push (route change to every client)', params: `N=${n}; ${x.changes} changes`,
      result: `${num(x.cpuMsPerPush)} ms CPU per change`, cpu: `${num(x.cpuUsPerClientPush, 0)} µs per client response`,
    });
    rows.push({
      ...blank, case: 'reconnect storm after a server restart', params: `N=${n}; restart with a changed config`,
      result: Number.isFinite(x.storm.allConsistentMs) ? `all consistent after ${num(x.storm.allConsistentMs, 0)} ms` : `${x.storm.lost} clients never converged`,
      p50: `${num(x.storm.p50Ms, 0)} ms`, p99: `${num(x.storm.p99Ms, 0)} ms`,
      goal: `server start ${num(x.storm.serverStartMs, 0)} ms of it; client backoff 1 s ±20%`,
    });
  }
  return { rows, goals };
}
