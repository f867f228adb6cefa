// The identity bench process: SVID bursts through the meshlet CA (token verification + CSR check
// + signing, what CreateCertificate does) with signing on the event loop or on the worker pool,
// beside the @peculiar/x509 prototype, watching its own event loop — the loop a CA inside the
// control server shares with xDS.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from '../../src/control/ca/authority.js';
import { CertificateService } from '../../src/control/ca/certificate-service.js';
import { createCsr, generateWorkloadKey } from '../../src/security/identity/keys.js';
import { lintSvid } from '../../src/security/identity/svid-lint.js';
import { LoopDelay } from './loop-delay.js';
import { serveRpc } from './rpc-child.js';
import { createCa, issueSvid, type Ca } from './svid-issue.js';

export const SPIFFE_ID = 'spiffe://cluster.local/ns/default/sa/bench';

/** How a burst is signed. */
export type IdentityMode = 'prototype-loop' | 'ca-loop' | 'ca-pool';

export interface BurstResult {
  count: number;
  elapsedMs: number;
  perSecond: number;
  /** Longest event-loop stall during the burst, ms. */
  maxStallMs: number;
  p99StallMs: number;
  /** Process CPU (all threads) per certificate, µs. */
  cpuUsPerCert: number;
  threads: number;
  /** 1-minute load average when the burst ended (the VM is shared). */
  load: number;
}

if (process.send) {
  const loop = new LoopDelay(1);
  let state: { dir: string; onLoop: CertificateAuthority; pool: CertificateAuthority; services: Record<'ca-loop' | 'ca-pool', CertificateService>; token: string; csrs: string[]; proto: Ca } | undefined;

  const prepare = async (count: number) => {
    const dir = await mkdtemp(join(tmpdir(), 'meshlet-bench-ca-'));
    const onLoop = await CertificateAuthority.open({ dir, signerThreads: 0 });
    const pool = await CertificateAuthority.open({ dir });
    const token = await onLoop.createJoinToken({ namespace: 'default', serviceAccount: 'bench' });
    // Distinct keys, made before any timing (the CA sees what a rotation wave would send).
    const csrs: string[] = [];
    for (let i = 0; i < count; i++) csrs.push(await createCsr(await generateWorkloadKey(), { uris: [SPIFFE_ID] }));
    state = { dir, onLoop, pool, services: { 'ca-loop': new CertificateService(onLoop), 'ca-pool': new CertificateService(pool) }, token, csrs, proto: await createCa() };
    // Warm both paths and the workers; check the shape so the bench never times a wrong cert.
    for (const s of Object.values(state.services)) {
      const [leaf] = await s.createCertificate({ csr: csrs[0]!, token });
      const problems = lintSvid(leaf!, { spiffeId: SPIFFE_ID }).problems;
      if (problems.length) throw new Error(`not an SVID: ${problems.join('; ')}`);
      await Promise.all(csrs.slice(0, 50).map((csr) => s.createCertificate({ csr, token })));
    }
    await Promise.all(Array.from({ length: 50 }, () => issueSvid(state!.proto, SPIFFE_ID)));
  };

  serveRpc({
    async prepare(msg) {
      await prepare(Number(msg.count));
      return { threads: state!.pool.signerThreads, cores: availableParallelism() };
    },
    async burst(msg): Promise<BurstResult> {
      const s = state!;
      const mode = msg.mode as IdentityMode;
      const count = Math.min(Number(msg.count), s.csrs.length);
      loop.reset();
      // The histogram drops its first interval after a reset: let it take one before the burst,
      // or a burst that blocks the loop from its first microtask is never seen.
      await new Promise((resolve) => setTimeout(resolve, 5));
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      if (mode === 'prototype-loop') await Promise.all(Array.from({ length: count }, () => issueSvid(s.proto, SPIFFE_ID)));
      else await Promise.all(s.csrs.slice(0, count).map((csr) => s.services[mode].createCertificate({ csr, token: s.token })));
      const elapsedMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      // A burst signed on the loop can finish inside one macrotask; the histogram records that
      // stall only when its timer next runs, so give it a turn before reading.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const l = loop.read();
      const threads = mode === 'ca-pool' ? s.pool.signerThreads : 0;
      return { count, elapsedMs, perSecond: (count * 1000) / elapsedMs, maxStallMs: l.maxMs, p99StallMs: l.p99Ms, cpuUsPerCert: (cpu.user + cpu.system) / count, threads, load: loadavg()[0]! };
    },
    async stop() {
      if (!state) return;
      await Promise.all([state.onLoop.close(), state.pool.close()]);
      await rm(state.dir, { recursive: true, force: true });
    },
  });
}
