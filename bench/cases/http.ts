// HTTP/1.1 keep-alive data-plane cases: raw undici (baseline and its A/A copy), meshlet
// pass-through and with features on, raw undici through one and two nginx hops.
import { runDataPlane, type PhaseLoad, type VariantSpec } from '../lib/dataplane.js';
import { reportDataPlane, type DataPlaneReport } from '../lib/dataplane-report.js';
import { ensureNginx, startNginx, type NginxHop } from '../lib/nginx.js';
import type { Payload } from '../lib/origin-server.js';
import { CLIENT_CPU, SERVER_CPU } from '../lib/pin.js';
import { RpcChild } from '../lib/rpc-child.js';
import type { Row } from '../lib/table.js';
import { startMeshVariants, type MeshVariants } from './http-mesh.js';

export interface HttpCaseOptions {
  quick: boolean;
  payloads?: Payload[];
  rounds?: number;
  /** Only these variant ids (the baseline and its A/A copy are always kept). */
  only?: string[];
  disturb?: string;
  load?: Record<Payload, PhaseLoad>;
  log?: (line: string) => void;
}

// Closed loop at 16 in flight; the fixed rate is well under what every variant sustains on one
// core (the two-hop nginx case included), so latency is measured unsaturated.
export const LOAD: Record<'full' | 'quick', Record<Payload, PhaseLoad>> = {
  full: {
    tiny: { closedRequests: 10000, concurrency: 16, rateRps: 1000, rateRequests: 1000 },
    '1k': { closedRequests: 10000, concurrency: 16, rateRps: 1000, rateRequests: 1000 },
    '64k': { closedRequests: 3000, concurrency: 16, rateRps: 500, rateRequests: 500 },
  },
  quick: {
    tiny: { closedRequests: 3000, concurrency: 16, rateRps: 1000, rateRequests: 300 },
    '1k': { closedRequests: 3000, concurrency: 16, rateRps: 1000, rateRequests: 300 },
    '64k': { closedRequests: 1000, concurrency: 16, rateRps: 500, rateRequests: 150 },
  },
};

export async function runHttpCases(o: HttpCaseOptions): Promise<DataPlaneReport & { skipped: Row[] }> {
  const log = o.log ?? (() => {});
  const payloads = o.payloads ?? ['tiny', '1k', '64k'];
  const load = o.load ?? LOAD[o.quick ? 'quick' : 'full'];
  const want = (id: string) => !o.only || o.only.includes(id) || id === 'raw' || id === 'raw-aa';
  const skipped: Row[] = [];
  const skip = (label: string, reason: string) => skipped.push({ case: label, params: '', result: 'skipped', p50: '', p99: '', cpu: '', memory: '', stall: '', goal: reason });

  const origin = RpcChild.start(new URL('../lib/origin-server.ts', import.meta.url), 'origin', SERVER_CPU);
  const hops: NginxHop[] = [];
  let mesh: MeshVariants | undefined;
  try {
    const port = await origin.call<number>('listen');
    const raw = `http://127.0.0.1:${port}`;
    const variants: VariantSpec[] = [
      { id: 'raw', label: 'raw undici', target: { kind: 'undici', origin: raw } },
      { id: 'raw-aa', label: 'A/A: raw undici again', target: { kind: 'undici', origin: raw } },
    ];
    if (want('mesh-pass') || want('mesh-features')) {
      const m = await startMeshVariants(port, log);
      if ('reason' in m) {
        if (want('mesh-pass')) skip('meshlet pass-through', m.reason);
        if (want('mesh-features')) skip('meshlet LB+retry+breaker+deadline+outlier', m.reason);
      } else {
        mesh = m;
        variants.push(...m.variants.filter((v) => want(v.id)));
      }
    }
    if (want('nginx1') || want('nginx2')) {
      const ng = ensureNginx(log);
      if (!ng.ok) {
        if (want('nginx1')) skip('raw undici → 1 nginx hop', ng.reason);
        if (want('nginx2')) skip('raw undici → 2 nginx hops', ng.reason);
      } else {
        // Sidecars share their app's core: the client-side hop on the client CPU, the
        // server-side hop on the server CPU.
        if (want('nginx1')) {
          const h = await startNginx(ng.bin, port, CLIENT_CPU);
          hops.push(h);
          variants.push({ id: 'nginx1', label: 'raw undici → 1 nginx hop', target: { kind: 'undici', origin: `http://127.0.0.1:${h.port}` }, proxyPids: h.pids });
        }
        if (want('nginx2')) {
          const server = await startNginx(ng.bin, port, SERVER_CPU);
          const client = await startNginx(ng.bin, server.port, CLIENT_CPU);
          hops.push(server, client);
          variants.push({ id: 'nginx2', label: 'raw undici → 2 nginx hops (sidecar emulation)', target: { kind: 'undici', origin: `http://127.0.0.1:${client.port}` }, proxyPids: () => [...client.pids(), ...server.pids()] });
        }
      }
    }
    const results = await runDataPlane({
      originPid: origin.pid,
      originLoop: { reset: () => origin.call('loopReset'), read: () => origin.call('loopRead') },
      variants, payloads, load, rounds: o.rounds ?? 5, log,
      ...(o.disturb ? { disturb: o.disturb } : {}),
    });
    return { ...reportDataPlane(results, payloads, load), skipped };
  } finally {
    await mesh?.close();
    for (const h of hops) await h.stop();
    await origin.stop();
  }
}
