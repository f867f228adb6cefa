/**
 * `meshlet demo --tour`: a scripted walk through the mesh on the running demo. Each step applies
 * Istio config through the real control server (`server.store.apply`, the path `meshlet apply`'s
 * admin API takes), waits until every mesh has ACKed it (`server.settled()`, no sleeps), drives
 * a few requests and prints who answered: canary 80/20 → jason to v2 → ratings delay → ratings
 * abort → a call an AuthorizationPolicy denies. The steps follow Istio's bookinfo tasks
 * (traffic-shifting, request-routing, fault-injection, authorization/authz-http).
 */
import type * as grpc from '@grpc/grpc-js';
import { parseConfig } from '../../config/index.js';
import type { ControlServer } from '../../control/index.js';
import { meshError } from '../../errors.js';
import type { Mesh } from '../../mesh/types.js';
import { echoCall } from '../../testing/echo.js';
import type { Output } from '../output.js';

export interface TourTargets {
  server: ControlServer;
  /** The caller: productpage's mesh (HTTP to details/ratings, gRPC to reviews). */
  productpage: Mesh;
  reviews: grpc.Client;
}

interface Step {
  title: string;
  yaml: string;
  /** Rows to print after the change: label → the answers of a few calls. */
  drive: (t: TourTargets) => Promise<Array<[string, string[]]>>;
}

const vs = (name: string, http: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${name}]
  http:
${http}`;

const CANARY = `  - name: canary
    route:
    - { destination: { host: reviews, subset: v1 }, weight: 80 }
    - { destination: { host: reviews, subset: v3 }, weight: 20 }
`;
const JASON = `  - name: jason
    match: [{ headers: { end-user: { exact: jason } } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
`;

const rpc = (t: TourTargets, md?: Record<string, string>) =>
  echoCall(t.reviews, md).then((r) => r.from, (err: { code?: number; details?: string }) => `gRPC error ${err.code ?? '?'}`);

async function http(t: TourTargets, url: string, method = 'GET'): Promise<string> {
  const started = performance.now();
  const res = await t.productpage.fetch(url, { method });
  const body = (await res.json().catch(() => undefined)) as { from?: string } | undefined;
  const flags = res.headers.get('x-meshlet-response-flags');
  const ms = Math.round(performance.now() - started);
  return `${body?.from ?? `HTTP ${res.status}`}${flags ? ` [${flags}]` : ''}${ms >= 100 ? ` ~${Math.floor(ms / 100) * 100} ms` : ''}`;
}

async function times<T>(n: number, call: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await call());
  return out;
}

const reviewsRows = async (t: TourTargets): Promise<Array<[string, string[]]>> => [
  ['reviews (anonymous)', await times(40, () => rpc(t))],
  ['reviews (end-user: jason)', await times(20, () => rpc(t, { 'end-user': 'jason' }))],
];

/** The steps, in order. Exported for the test, which checks each one's effect. */
export const STEPS: readonly Step[] = [
  {
    title: 'canary: reviews 80% v1, 20% v3 (VirtualService reviews, weights)',
    yaml: vs('reviews', CANARY),
    drive: reviewsRows,
  },
  {
    title: 'jason to v2: end-user: jason → subset v2, everyone else still 80/20 (a header match)',
    yaml: vs('reviews', JASON + CANARY),
    drive: reviewsRows,
  },
  {
    title: 'ratings delay: a 500 ms fixed delay on every call to ratings (fault.delay)',
    yaml: vs('ratings', `  - fault: { delay: { fixedDelay: 500ms, percentage: { value: 100 } } }
    route: [{ destination: { host: ratings, subset: v1 } }]
`),
    drive: async (t) => [['ratings', await times(4, () => http(t, 'http://ratings:9080/ratings/0'))]],
  },
  {
    title: 'ratings abort: HTTP 503 for 50% of calls, no delay (fault.abort)',
    yaml: vs('ratings', `  - fault: { abort: { httpStatus: 503, percentage: { value: 50 } } }
    route: [{ destination: { host: ratings, subset: v1 } }]
`),
    drive: async (t) => [['ratings', await times(30, () => http(t, 'http://ratings:9080/ratings/0'))]],
  },
  {
    title: 'a denied call: ratings admits only GET (AuthorizationPolicy ALLOW), so DELETE is refused',
    yaml: `${vs('ratings', '  - route: [{ destination: { host: ratings, subset: v1 } }]\n')}---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ratings-read-only, namespace: default }
spec:
  selector: { matchLabels: { app: ratings } }
  action: ALLOW
  rules: [{ to: [{ operation: { methods: [GET] } }] }]
`,
    drive: async (t) => [
      ['GET ratings', await times(5, () => http(t, 'http://ratings:9080/ratings/0'))],
      ['DELETE ratings', await times(5, () => http(t, 'http://ratings:9080/ratings/0', 'DELETE'))],
    ],
  },
];

/** "reviews-v1 32, reviews-v3 8": the answers counted, most frequent first. */
export function tally(answers: string[]): string {
  const counts = new Map<string, number>();
  for (const a of answers) {
    const key = a.replace(/ ~\d+ ms$/, '');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const slow = answers.map((a) => /~(\d+) ms$/.exec(a)?.[1]).filter(Boolean);
  const latency = slow.length > 0 ? `   (each took ~${slow[0]} ms)` : '';
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, n]) => `${k} ${n}`).join(', ') + latency;
}

/** Runs every step against the running demo, printing what each changed. */
export async function runTour(t: TourTargets, out: Output): Promise<void> {
  out.info('\ntour: each step applies Istio YAML to the control server, waits until every mesh ACKed it, then calls');
  let n = 0;
  for (const step of STEPS) {
    n++;
    const { resources, diagnostics } = parseConfig(step.yaml, `tour-step-${n}.yaml`);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) throw meshError('MESHLET_ERR_CONFIG_SCHEMA', `tour step ${n}: ${errors[0]!.message}`);
    await t.server.store.apply(resources, `tour-step-${n}.yaml`);
    await t.server.settled(10_000);
    out.info(`\nstep ${n}/${STEPS.length}  ${step.title}`);
    out.info(`  applied: ${resources.map((r) => `${r.kind} ${r.metadata.namespace}/${r.metadata.name}`).join(', ')}`);
    for (const [label, answers] of await step.drive(t)) out.info(`  ${label.padEnd(26)} → ${tally(answers)}`);
  }
  out.info('\ntour done: the config applied by the tour stays in the control server until it stops');
}
