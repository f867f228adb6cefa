// Identity: X.509-SVID issuance in bursts of CSRs arriving at once, through the meshlet CA
// (join-token verification + CSR check + signing) with signing on the event loop vs on the
// signer worker pool, beside the @peculiar/x509-generator prototype; the longest event-loop stall
// of the CA's process is the figure that matters (xDS pushes share that loop). The pool row runs
// twice (A/A) to show the run's noise. The process may use every core (the pool sizes itself
// from them), as a control server would.
import { availableParallelism } from 'node:os';
import { RpcChild } from '../lib/rpc-child.js';
import { summarize } from '../lib/summary.js';
import { num, type Row } from '../lib/table.js';
import type { BurstResult, IdentityMode } from '../lib/svid-worker.js';

const LABEL: Record<IdentityMode | 'ca-pool-aa', string> = {
  'prototype-loop': 'SVID issuance: @peculiar/x509 generator on the event loop (prototype)',
  'ca-loop': 'SVID issuance: meshlet CA, signing on the event loop',
  'ca-pool': 'SVID issuance: meshlet CA, signer worker pool',
  'ca-pool-aa': 'SVID issuance: meshlet CA, signer worker pool (A/A copy)',
};

const row = (key: keyof typeof LABEL, runs: BurstResult[], params: string): Row => {
  const rate = summarize(runs.map((r) => r.perSecond));
  const stall = summarize(runs.map((r) => r.maxStallMs));
  const pool = key.startsWith('ca-pool');
  return {
    case: LABEL[key],
    params: `${params}${pool ? `; ${runs[0]?.threads ?? '?'} worker threads` : ''}`,
    result: `${num(rate.median, 0)} SVIDs/s [${num(rate.min, 0)}–${num(rate.max, 0)}]`,
    p50: '', p99: '',
    cpu: `${num(summarize(runs.map((r) => r.cpuUsPerCert)).median, 0)} µs/cert (process)`,
    memory: '',
    stall: `max ${num(stall.median)} ms [${num(stall.min)}–${num(stall.max)}]`,
    goal: pool ? `≥ 200 SVIDs/s, stall ≤ 20 ms: ${rate.median >= 200 && stall.median <= 20 ? '✔' : '✘'}` : '',
  };
};

export async function runIdentityCase(o: { rounds: number; burst: number }): Promise<Row[]> {
  // Not pinned: the pool uses the cores the process has, like a control server.
  const child = RpcChild.start(new URL('../lib/svid-worker.ts', import.meta.url), 'svid', -1);
  try {
    await child.call('prepare', { count: o.burst });
    const order: Array<keyof typeof LABEL> = ['prototype-loop', 'ca-loop', 'ca-pool', 'ca-pool-aa'];
    const runs = new Map(order.map((m) => [m, [] as BurstResult[]]));
    for (let i = 0; i < o.rounds; i++) {
      // Rotate the order every round so no variant always runs first or last.
      for (let k = 0; k < order.length; k++) {
        const key = order[(i + k) % order.length]!;
        const mode: IdentityMode = key === 'ca-pool-aa' ? 'ca-pool' : key;
        runs.get(key)!.push(await child.call<BurstResult>('burst', { mode, count: o.burst }));
      }
    }
    const loads = [...runs.values()].flat().map((r) => r.load);
    const load = `load avg ${num(Math.min(...loads), 1)}–${num(Math.max(...loads), 1)} on ${availableParallelism()} cores`;
    return order.map((m) => row(m, runs.get(m)!, `burst of ${o.burst} CSRs at once; ${o.rounds} rounds; ${load}`));
  } finally {
    await child.call('stop').catch(() => {});
    await child.stop();
  }
}
