// Turns the data-plane samples into table rows: each variant against the baseline measured in
// the same rounds (ratios are taken per round, then summarized), plus the A/A gate per payload.
import type { PhaseLoad, RoundSample, VariantResult } from './dataplane.js';
import { aaGate, type GateResult } from './gate.js';
import type { Payload } from './origin-server.js';
import { summarize, type Summary } from './summary.js';
import { addedCell, num, ratioCell, verdict, type Row } from './table.js';

export const BASELINE = 'raw';
export const AA_COPY = 'raw-aa';

export interface Goal {
  name: string;
  met: boolean | undefined;
  value: string;
}

export interface DataPlaneReport {
  rows: Row[];
  gates: GateResult[];
  goals: Goal[];
}

const MiB = 1024 * 1024;

function paired(a: RoundSample[], b: RoundSample[], f: (x: RoundSample, y: RoundSample) => number): Summary {
  return summarize(a.slice(0, Math.min(a.length, b.length)).map((x, i) => f(x, b[i]!)));
}

const rpsCell = (s: Summary) => `${num(s.median, 0)} rps [${num(s.min, 0)}–${num(s.max, 0)}]`;
const totalCpu = (s: RoundSample) => s.closed.cpuUsPerReq + s.proxyCpuUsPerReq + s.serverCpuUsPerReq;
// Loop delay at the fixed rate (under closed-loop saturation the loop is busy by design).
const stallCell = (rs: RoundSample[]) => {
  const client = summarize(rs.map((s) => s.rate.loop.p99Ms)).median;
  const max = Math.max(...rs.map((s) => s.rate.loop.maxMs));
  const origin = summarize(rs.map((s) => s.originLoop.p99Ms)).median;
  return `client ${num(client)} / ${num(max)} ms; origin p99 ${num(origin)} ms`;
};

function cpuCell(rs: RoundSample[], base: RoundSample[]): string {
  const client = summarize(rs.map((s) => s.closed.cpuUsPerReq)).median;
  const proxy = summarize(rs.map((s) => s.proxyCpuUsPerReq)).median;
  const server = summarize(rs.map((s) => s.serverCpuUsPerReq)).median;
  const parts = `client ${num(client, 0)}${proxy > 0.5 ? ` + proxies ${num(proxy, 0)}` : ''} + origin ${num(server, 0)} µs/req`;
  if (rs === base) return parts;
  // Added vCPU per 1000 rps = added CPU µs per request × 1000 req/s ÷ 1e6 µs/s.
  const added = paired(rs, base, (x, y) => (totalCpu(x) - totalCpu(y)) / 1000);
  // CPU time only counts while a process runs, so this ratio barely moves when neighbours steal
  // the core; it is the noise-robust companion of the throughput ratio.
  const cost = paired(rs, base, (x, y) => totalCpu(x) / totalCpu(y));
  return `${parts}; ${added.median >= 0 ? '+' : ''}${num(added.median, 3)} vCPU/1000 rps; cost ${num(cost.median, 2)}× baseline`;
}

function latencyCell(rs: RoundSample[], base: RoundSample[], key: 'p50Us' | 'p99Us', rps: number): string {
  const behind = summarize(rs.map((s) => s.rate.achievedRps)).median < 0.95 * rps;
  const cell = rs === base ? `${num(summarize(rs.map((s) => s.rate[key])).median, 0)} µs` : addedCell(paired(rs, base, (x, y) => x.rate[key] - y.rate[key]), 'µs');
  return behind ? `${cell} (fell behind ${rps} rps)` : cell;
}

export function reportDataPlane(results: VariantResult[], payloads: Payload[], load: Record<Payload, PhaseLoad>): DataPlaneReport {
  const byId = new Map(results.map((r) => [r.spec.id, r]));
  const base = byId.get(BASELINE);
  if (!base) throw new Error(`the baseline variant "${BASELINE}" is required`);
  const rows: Row[] = [];
  const gates: GateResult[] = [];
  const goals: Goal[] = [];
  for (const p of payloads) {
    const b = base.rounds[p] ?? [];
    const rps = load[p].rateRps;
    for (const v of results) {
      const rs = v.rounds[p] ?? [];
      if (rs.length === 0) continue;
      const errors = rs.reduce((n, s) => n + s.closed.errors + s.rate.errors, 0);
      const isBase = v === base;
      const thr = paired(rs, b, (x, y) => x.closed.rps / y.closed.rps);
      let goal = errors ? `${errors} errors` : '';
      if (v.spec.id === AA_COPY) {
        const g = aaGate(b.map((s) => s.closed.rps), rs.map((s) => s.closed.rps));
        gates.push({ ...g, reason: `${p}: ${g.reason}` });
        goal = `${g.valid ? '✔ A/A ok' : '✘ VOID'} (±3%)`;
      }
      if (v.spec.id === 'mesh-features') {
        const nginx2 = byId.get('nginx2')?.rounds[p];
        const vsRaw = thr.median;
        const vs2 = nginx2?.length ? paired(rs, nginx2, (x, y) => x.closed.rps / y.closed.rps) : undefined;
        goals.push({ name: `HTTP ${p}: features on vs raw undici`, met: Number.isFinite(vsRaw) ? vsRaw >= 0.9 : undefined, value: ratioCell(thr) });
        goals.push({ name: `HTTP ${p}: features on vs two nginx hops`, met: vs2 ? vs2.median >= 2.5 : undefined, value: vs2 ? ratioCell(vs2) : 'nginx skipped' });
        goal = [verdict(goals.at(-2)!.met, '≥ 0.90× raw'), vs2 ? `${ratioCell(vs2)} 2-hop nginx ${verdict(vs2.median >= 2.5, '≥ 2.5×')}` : '', goal].filter(Boolean).join('; ');
      }
      // The baseline's own growth (an undici Agent, buffers) is the zero the others are read against.
      const rss = isBase ? `${num(v.rssBytes / MiB)} MiB RSS growth` : `${v.rssBytes - base.rssBytes >= 0 ? '+' : ''}${num((v.rssBytes - base.rssBytes) / MiB)} MiB RSS`;
      rows.push({
        case: isBase ? `${v.spec.label} (baseline)` : v.spec.label,
        params: `${p}; c=${load[p].concurrency}; ${rps} rps`,
        result: isBase ? rpsCell(summarize(rs.map((s) => s.closed.rps))) : ratioCell(thr),
        p50: latencyCell(rs, b, 'p50Us', rps),
        p99: latencyCell(rs, b, 'p99Us', rps),
        cpu: cpuCell(rs, b),
        memory: rss,
        stall: stallCell(rs),
        goal,
      });
    }
  }
  return { rows, gates, goals };
}
