// Authorization decision cost per request, at 10 and 100 AuthorizationPolicies, side by side in
// one run, with an A/A row (the 10-policy engine measured twice, interleaved) that must agree
// within ±3% or the run is void. Policies go through the real path: Istio YAML shapes →
// control/translate (Envoy RBAC) → protobuf → client decode → compiled engine.
// The request mix: allowed by an early policy, allowed by the last one, denied by DENY, denied by
// no ALLOW match (every policy evaluated), on mTLS connections with realistic headers.
// Timed in CPU time (process.cpuUsage), since the bench machine is shared.
//
//   node --import tsx bench/authz.ts
import type { AuthorizationPolicy } from '../src/config/types.js';
import { engineFor, policy, SA, view } from '../test/helpers/authz.js';
import type { AuthzEngine } from '../src/security/authz/index.js';

function policies(n: number): AuthorizationPolicy[] {
  const out: AuthorizationPolicy[] = [
    policy('deny-admin', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin/*', '/debug/{**}'] } }] }] }),
    policy('deny-bad-ns', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['quarantine'] } }] }] }),
  ];
  for (let i = 0; out.length < n; i++) {
    out.push(policy(`allow-${i}`, {
      rules: [{
        from: [{ source: { principals: [`cluster.local/ns/team-${i}/sa/client-${i}`], namespaces: [`team-${i}`] } }],
        to: [{ operation: { methods: ['GET', 'POST'], paths: [`/api/v1/svc-${i}/*`, `/api/v2/{*}/svc-${i}`] } }],
        when: [{ key: 'request.headers[x-tenant]', values: [`tenant-${i % 7}`] }],
      }],
    }));
  }
  return out;
}

const last = (n: number) => n - 3; // the index of the last ALLOW policy
function requests(n: number) {
  const h = { 'x-tenant': 'tenant-0', 'user-agent': 'bench', accept: '*/*' };
  return [
    view({ principal: SA('team-0', 'client-0'), method: 'GET', path: '/api/v1/svc-0/items', headers: h }),
    view({ principal: SA(`team-${last(n)}`, `client-${last(n)}`), method: 'POST', path: `/api/v2/x/svc-${last(n)}`, headers: { ...h, 'x-tenant': `tenant-${last(n) % 7}` } }),
    view({ principal: SA('team-1', 'client-1'), method: 'GET', path: '/admin/users', headers: h }),
    view({ principal: SA('team-x', 'nobody'), method: 'GET', path: '/api/v1/none', headers: h }),
  ];
}

function measure(engine: AuthzEngine, reqs: ReturnType<typeof requests>, iterations: number): number {
  let allowed = 0;
  // CPU time of this thread, not wall time: the machine is shared, and a descheduled slice
  // is not decision cost.
  const t0 = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    for (let j = 0; j < reqs.length; j++) if (engine.check(reqs[j]!).allowed) allowed++;
  }
  const used = process.cpuUsage(t0);
  const ns = ((used.user + used.system) * 1000) / (iterations * reqs.length);
  if (allowed !== iterations * 2) throw new Error(`unexpected decisions: ${allowed} allowed of ${iterations * reqs.length}`);
  return ns;
}

const ITER = Number(process.env.AUTHZ_ITERATIONS ?? 200_000);
const PASSES = 7;
const variants = [
  { name: '10 policies', engine: engineFor(policies(10)), reqs: requests(10) },
  { name: '10 policies (A/A)', engine: engineFor(policies(10)), reqs: requests(10) },
  { name: '100 policies', engine: engineFor(policies(100)), reqs: requests(100) },
];
for (const v of variants) measure(v.engine, v.reqs, ITER / 4); // warm-up
const samples = variants.map(() => [] as number[]);
for (let pass = 0; pass < PASSES; pass++) variants.forEach((v, i) => samples[i]!.push(measure(v.engine, v.reqs, ITER)));
const stat = (s: number[]) => {
  const sorted = [...s].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! };
};
const stats = samples.map(stat);
const base = stats[0]!.median;
console.log(`authz decision cost, ${PASSES} interleaved passes × ${ITER} iterations × 4 requests (node ${process.version})\n`);
console.log('| variant | ns/decision (median) | min–max | vs 10 policies |');
console.log('| --- | --- | --- | --- |');
variants.forEach((v, i) => {
  const s = stats[i]!;
  console.log(`| ${v.name} | ${s.median.toFixed(0)} | ${s.min.toFixed(0)}–${s.max.toFixed(0)} | ${(s.median / base).toFixed(2)}× |`);
});
const aa = stats[1]!.median / base - 1;
console.log(`\nA/A: ${(aa * 100).toFixed(1)}% ${Math.abs(aa) <= 0.03 ? '(within ±3%: valid)' : '(outside ±3%: run void)'}; goal ≤ 2000 ns/decision`);
