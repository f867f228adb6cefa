/**
 * What hedging buys on a service with a slow tail, and what it costs in extra upstream requests.
 * One control server, two backend meshes and one client mesh in this process; each backend
 * answers in 5 ms, except a seeded 5% of requests that take 100 ms. Three routes to the same
 * backends, interleaved in rotating order each round:
 *
 *   plain    retries { attempts: 2, retryOn: 5xx }                       (no per-try timeout)
 *   retry    + perTryTimeout: 20ms                                        (cancel, then retry)
 *   hedged   + perTryTimeout: 20ms and meshlet.io/hedge-on-per-try-timeout: "true"
 *
 *   node --import tsx bench/hedging.ts [--requests 400] [--rounds 5] [--concurrency 8]
 *
 * Prints latency percentiles (all rounds pooled), success rate and upstream requests per call.
 */
import { request } from 'undici';
import { createControlServer } from '../src/control/index.js';
import { parseConfig } from '../src/config/index.js';
import { createMesh, type Mesh } from '../src/index.js';
import { percentile } from './lib/stats.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) || fallback : fallback;
};
const REQUESTS = arg('requests', 400);
const ROUNDS = arg('rounds', 5);
const CONCURRENCY = arg('concurrency', 8);
const FAST_MS = 5;
const SLOW_MS = 100;
const SLOW_SHARE = 0.05;

const VARIANTS = [
  { host: 'plain', annotation: false, perTry: false },
  { host: 'retry', annotation: false, perTry: true },
  { host: 'hedged', annotation: true, perTry: true },
] as const;

const yaml = VARIANTS.map((v) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${v.host}
  ${v.annotation ? 'annotations: { meshlet.io/hedge-on-per-try-timeout: "true" }' : ''}
spec:
  hosts: [${v.host}]
  http:
  - route: [{ destination: { host: tail } }]
    retries: { attempts: 2, retryOn: 5xx${v.perTry ? ', perTryTimeout: 20ms' : ''} }
`).join('---\n') + `---
# The three route hosts exist only as names: their routes all lead to the tail service.
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: variants }
spec:
  hosts: [${VARIANTS.map((v) => `${v.host}.default.svc.cluster.local`).join(', ')}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
`;

/** Seeded LCG so every run sees the same tail. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

async function main(): Promise<void> {
  const control = await createControlServer({ xdsPort: 0, adminPort: null, debounceMs: 5 });
  const { resources, diagnostics } = parseConfig(yaml, 'hedging.yaml');
  if (diagnostics.some((d) => d.severity === 'error')) throw new Error(JSON.stringify(diagnostics));
  await control.store.apply(resources);
  const controlPlane = `127.0.0.1:${control.xdsPort}`;
  const meshes: Mesh[] = [];
  let upstream = 0;
  for (const [i, version] of ['a', 'b'].entries()) {
    const mesh = await createMesh({ controlPlane, service: 'tail', labels: { version } });
    meshes.push(mesh);
    const random = lcg(17 + i);
    await mesh.listen((_req, res) => {
      upstream++;
      const ms = random() < SLOW_SHARE ? SLOW_MS : FAST_MS;
      const timer = setTimeout(() => res.end('ok'), ms);
      res.on('close', () => clearTimeout(timer));
    }, { port: 0, servicePort: 9080 });
  }
  const client = await createMesh({ controlPlane, service: 'bench' });
  meshes.push(client);
  for (let i = 0; i < 200; i++) {
    const ready = VARIANTS.every((v) => client.engine.route({ method: 'GET', path: '/', host: v.host, port: 9080, headers: {} }).kind === 'forward');
    const picks = new Set(Array.from({ length: 8 }, () => {
      const r = client.engine.route({ method: 'GET', path: '/', host: 'tail', port: 9080, headers: {} });
      return r.kind === 'forward' ? r.plan.pick()?.key : undefined;
    }));
    if (ready && picks.size === 2) break;
    await new Promise((r) => setTimeout(r, 25));
  }

  const results = new Map<string, { ms: number[]; ok: number; calls: number; upstream: number }>(VARIANTS.map((v) => [v.host, { ms: [], ok: 0, calls: 0, upstream: 0 }]));
  const call = async (host: string): Promise<void> => {
    const r = results.get(host)!;
    const t0 = performance.now();
    const res = await request(`http://${host}:9080/`, { dispatcher: client.dispatcher });
    await res.body.text();
    r.ms.push(performance.now() - t0);
    r.calls++;
    if (res.statusCode === 200) r.ok++;
  };
  for (let round = 0; round < ROUNDS + 1; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!.host);
    for (const host of order) {
      const before = upstream;
      const keep = round > 0; // round 0 warms up
      const r = results.get(host)!;
      const snapshot = { ms: r.ms.length, ok: r.ok, calls: r.calls };
      let next = 0;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < REQUESTS) await call(host);
      }));
      // Aborted losers may still be counted by the backend a moment later.
      await new Promise((res) => setTimeout(res, SLOW_MS + 20));
      if (keep) r.upstream += upstream - before;
      else Object.assign(r, { ms: r.ms.slice(0, snapshot.ms), ok: snapshot.ok, calls: snapshot.calls });
    }
  }

  console.log(`hedging bench: ${ROUNDS} rounds × ${REQUESTS} requests per variant, concurrency ${CONCURRENCY}; backend ${FAST_MS} ms, ${SLOW_SHARE * 100}% at ${SLOW_MS} ms; Node ${process.version}`);
  console.log('| route | p50 | p90 | p99 | max | success | upstream requests per call |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const v of VARIANTS) {
    const r = results.get(v.host)!;
    const f = (p: number): string => `${percentile(r.ms, p).toFixed(1)} ms`;
    console.log(`| ${v.host} | ${f(50)} | ${f(90)} | ${f(99)} | ${Math.max(...r.ms).toFixed(1)} ms | ${((100 * r.ok) / r.calls).toFixed(2)}% | ${(r.upstream / r.calls).toFixed(3)} |`);
  }
  await Promise.all(meshes.map((m) => m.close()));
  await control.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
