// The data-plane harness: every variant has its own load-generator process on the client CPU;
// per payload, a warm-up pass, then rounds in which each variant runs once, in an order rotated
// every round. Each run of a variant is a closed-loop phase (fixed concurrency → throughput,
// CPU per request) followed by a fixed-rate phase (latency from intended start time).
import { Burner } from './burner.js';
import type { ClosedResult, RateResult } from './loadgen-worker.js';
import type { LoopDelayRead } from './loop-types.js';
import { PAYLOADS, type Payload } from './origin-server.js';
import { CLIENT_CPU } from './pin.js';
import { cpuMicros, rssBytes, sumOver } from './procstat.js';
import { RpcChild } from './rpc-child.js';
import { roundOrder } from './schedule.js';
import type { VariantTarget } from './variant-dispatcher.js';

export interface VariantSpec {
  id: string;
  label: string;
  target: VariantTarget;
  /** Proxies on the path (nginx): their CPU and RSS are charged to this variant. */
  proxyPids?: () => number[];
}

export interface PhaseLoad {
  closedRequests: number;
  concurrency: number;
  rateRps: number;
  rateRequests: number;
}

export interface DataPlaneOptions {
  originPid: number;
  /** Reads and resets the origin's event-loop delay (it lives in another process). */
  originLoop: { reset(): Promise<void>; read(): Promise<LoopDelayRead> };
  variants: VariantSpec[];
  payloads: Payload[];
  load: Record<Payload, PhaseLoad>;
  rounds: number;
  /** Variant id whose measured rounds run beside a CPU burner on the client core. */
  disturb?: string;
  log?: (line: string) => void;
}

export interface RoundSample {
  closed: ClosedResult;
  rate: RateResult;
  /** CPU µs per request of the origin and of the proxies during the closed phase. */
  serverCpuUsPerReq: number;
  proxyCpuUsPerReq: number;
  originLoop: LoopDelayRead;
}

export interface VariantResult {
  spec: VariantSpec;
  /** RSS the variant adds: the load generator's growth since before its setup, plus its proxies. */
  rssBytes: number;
  rounds: Record<string, RoundSample[]>; // by payload
}

export async function runDataPlane(o: DataPlaneOptions): Promise<VariantResult[]> {
  const log = o.log ?? (() => {});
  const gens = o.variants.map((spec) => ({ spec, gen: RpcChild.start(new URL('./loadgen-worker.ts', import.meta.url), `loadgen ${spec.id}`, CLIENT_CPU, ['--expose-gc']) }));
  const burner = new Burner();
  try {
    await Promise.all(gens.map(({ spec, gen }) => gen.call('setup', { target: spec.target })));
    const results: VariantResult[] = gens.map(({ spec }) => ({ spec, rssBytes: NaN, rounds: {} }));

    const closedOnce = async (i: number, payload: Payload, load: PhaseLoad) => {
      const { spec, gen } = gens[i]!;
      const proxies = spec.proxyPids?.() ?? [];
      const s0 = cpuMicros(o.originPid), p0 = sumOver(proxies, cpuMicros);
      const closed = await gen.call<ClosedResult>('closed', { path: `/${payload}`, concurrency: load.concurrency, requests: load.closedRequests });
      const s1 = cpuMicros(o.originPid), p1 = sumOver(proxies, cpuMicros);
      return { closed, serverCpuUsPerReq: (s1 - s0) / closed.requests, proxyCpuUsPerReq: (p1 - p0) / closed.requests };
    };
    const rateOnce = async (i: number, payload: Payload, load: PhaseLoad) => {
      await o.originLoop.reset();
      const rate = await gens[i]!.gen.call<RateResult>('rate', { path: `/${payload}`, rps: load.rateRps, requests: load.rateRequests });
      return { rate, originLoop: await o.originLoop.read() };
    };
    const disturbed = async <T>(i: number, f: () => Promise<T>): Promise<T> => {
      if (o.disturb !== gens[i]!.spec.id) return f();
      burner.start();
      try { return await f(); } finally { await burner.stop(); }
    };

    for (const payload of o.payloads) {
      const load = o.load[payload];
      // Warm-up: JIT, heap growth, connection pools, nginx upstream keep-alive; discarded. A full
      // closed-loop phase: with half of one, the first measured round still ran ~2× slower.
      const warm = { ...load, rateRequests: Math.ceil(load.rateRequests / 4) };
      for (let i = 0; i < gens.length; i++) { await closedOnce(i, payload, warm); await rateOnce(i, payload, warm); }
      for (let i = 0; i < gens.length; i++) {
        const proxies = gens[i]!.spec.proxyPids?.() ?? [];
        const added = (await gens[i]!.gen.call<number>('addedRss')) + sumOver(proxies, rssBytes);
        results[i]!.rssBytes = Math.max(results[i]!.rssBytes || 0, added);
      }
      for (let r = 0; r < o.rounds; r++) {
        // A round is a closed-loop pass over every variant, then a fixed-rate pass, each in the
        // rotated order: the throughput samples that get paired are seconds apart, not minutes.
        const order = roundOrder(gens.map((_, k) => k), r);
        const closed = new Map<number, Awaited<ReturnType<typeof closedOnce>>>();
        for (const i of order) closed.set(i, await disturbed(i, () => closedOnce(i, payload, load)));
        for (const i of order) {
          const sample: RoundSample = { ...closed.get(i)!, ...(await disturbed(i, () => rateOnce(i, payload, load))) };
          (results[i]!.rounds[payload] ??= []).push(sample);
          if (sample.closed.errors || sample.rate.errors) log(`  ${gens[i]!.spec.id} ${payload}: ${sample.closed.errors + sample.rate.errors} errors (${sample.closed.firstError ?? sample.rate.firstError})`);
        }
      }
      log(`  ${payload}: ${o.rounds} rounds done`);
    }
    return results;
  } finally {
    await burner.stop();
    await Promise.all(gens.map(({ gen }) => gen.call('close').catch(() => undefined).then(() => gen.stop())));
  }
}

export const payloadBytes = (p: Payload): number => PAYLOADS[p];
