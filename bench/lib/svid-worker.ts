// The identity bench process: issues SVIDs in a burst and watches its own event loop, which is
// the loop a CA inside the control server would share with xDS.
import { X509Certificate } from 'node:crypto';
import { LoopDelay } from './loop-delay.js';
import { serveRpc } from './rpc-child.js';
import { createCa, issueSvid, type Ca } from './svid-issue.js';

export const SPIFFE_ID = 'spiffe://cluster.local/ns/default/sa/bench';

export interface BurstResult {
  count: number;
  elapsedMs: number;
  perSecond: number;
  /** Longest event-loop stall during the burst, ms. */
  maxStallMs: number;
  p99StallMs: number;
  cpuUsPerCert: number;
}

/** Checks the shape the identity contract asks for, so the bench never times a wrong cert. */
function check(der: ArrayBuffer): void {
  const c = new X509Certificate(Buffer.from(der));
  if (c.ca) throw new Error('SVID must not be a CA');
  if (c.subjectAltName !== `URI:${SPIFFE_ID}`) throw new Error(`unexpected SAN ${c.subjectAltName}`);
  const text = c.toLegacyObject() as unknown as { ext_key_usage?: string[] };
  const eku = text.ext_key_usage ?? [];
  if (!eku.includes('1.3.6.1.5.5.7.3.1') || !eku.includes('1.3.6.1.5.5.7.3.2')) throw new Error(`unexpected EKU ${eku.join(',')}`);
}

if (process.send) {
  let ca: Ca | undefined;
  const loop = new LoopDelay(1);
  serveRpc({
    async burst(msg): Promise<BurstResult> {
      const count = Number(msg.count);
      ca ??= await createCa();
      const c = ca;
      check((await issueSvid(c, SPIFFE_ID)).der);
      const cpu0 = process.cpuUsage();
      loop.reset();
      const t0 = performance.now();
      // `inFlight` 0: all at once (a burst of CSRs arriving together); otherwise a bounded queue.
      const inFlight = Number(msg.inFlight) || count;
      let next = 0;
      await Promise.all(Array.from({ length: Math.min(inFlight, count) }, async () => {
        while (next < count) { next++; await issueSvid(c, SPIFFE_ID); }
      }));
      const elapsedMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const l = loop.read();
      return { count, elapsedMs, perSecond: (count * 1000) / elapsedMs, maxStallMs: l.maxMs, p99StallMs: l.p99Ms, cpuUsPerCert: (cpu.user + cpu.system) / count };
    },
  });
}
