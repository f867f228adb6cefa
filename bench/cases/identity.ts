// Identity: X.509-SVID issuance (ECDSA P-256, @peculiar/x509 over WebCrypto) in bursts, in a
// process pinned to the server CPU, the core a CA inside the control server would have.
import { SERVER_CPU } from '../lib/pin.js';
import { RpcChild } from '../lib/rpc-child.js';
import { summarize } from '../lib/summary.js';
import { num, type Row } from '../lib/table.js';
import type { BurstResult } from '../lib/svid-worker.js';

const row = (runs: BurstResult[], params: string): Row => {
  const rate = summarize(runs.map((r) => r.perSecond));
  const stall = summarize(runs.map((r) => r.maxStallMs));
  return {
    case: 'X.509-SVID issuance (P-256 key from node:crypto, signed with @peculiar/x509)',
    params,
    result: `${num(rate.median, 0)} certs/s [${num(rate.min, 0)}–${num(rate.max, 0)}]`,
    p50: '', p99: '',
    cpu: `${num(summarize(runs.map((r) => r.cpuUsPerCert)).median, 0)} µs/cert`,
    memory: '',
    stall: `longest stall ${num(stall.median)} ms [${num(stall.min)}–${num(stall.max)}]`,
    goal: '',
  };
};

export async function runIdentityCase(o: { rounds: number; burst: number }): Promise<Row[]> {
  const worker = RpcChild.start(new URL('../lib/svid-worker.ts', import.meta.url), 'svid', SERVER_CPU);
  try {
    await worker.call<BurstResult>('burst', { count: 50 }); // warm-up
    // All at once (the contract's burst), and through a 4-wide queue (what a CA could do).
    const modes = [{ inFlight: 0, label: 'all at once' }, { inFlight: 4, label: '4 in flight' }];
    const runs = new Map(modes.map((m) => [m, [] as BurstResult[]]));
    for (let i = 0; i < o.rounds; i++) {
      for (const m of i % 2 ? [...modes].reverse() : modes) runs.get(m)!.push(await worker.call<BurstResult>('burst', { count: o.burst, inFlight: m.inFlight }));
    }
    return modes.map((m) => row(runs.get(m)!, `burst of ${o.burst}, ${m.label}; ${o.rounds} rounds; 1 core`));
  } finally {
    await worker.stop();
  }
}
