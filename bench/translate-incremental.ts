/**
 * What one admin change costs on a large config, incremental translation vs full rebuilds.
 * A control server in this process holds ~30k resources (by default 10k ServiceEntries, 10k
 * DestinationRules, 10k VirtualServices: ~150k xDS resources); one-resource changes go through
 * the admin API as `meshlet apply` / `DELETE /config/…` send them, and each is timed from the
 * request until the new snapshot is served, then until the event loop is free again (the
 * analysis of the config runs after the snapshot is handed to the streams). The same changes
 * run on a second server with `incrementalTranslation: false` (every change re-translates
 * everything, the behaviour before incremental translation).
 *
 *   npm run bench:translate [-- --services 10000 --changes 30 --full-changes 3] [-- --persist]
 *
 * `--persist`: the server owns its store and has a state directory (a temp one), so what the
 * admin API applies is persisted as a production server's would be.
 *
 * Goal: a one-resource change served in ≤ 100 ms at 30k resources. Not a test: nothing fails on
 * a timing.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { IstioResource } from '../src/config/types.js';
import { createControlServer, type ControlServer } from '../src/control/index.js';
import { MemoryStore } from '../src/control/store/memory.js';
import { fmt, percentile } from './lib/stats.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) || fallback : fallback;
};
const SERVICES = arg('services', 10_000);
const CHANGES = arg('changes', 30);
const FULL_CHANGES = arg('full-changes', 3);
const GOAL_MS = 100;
const PERSIST = process.argv.includes('--persist');

const ns = (i: number) => `ns${i % 20}`;
const host = (i: number) => `svc-${i}.${ns(i)}.svc.cluster.local`;
const meta = (name: string, namespace: string) => ({ name, namespace });

function serviceEntry(i: number): IstioResource {
  const ip = (n: number) => `10.${(i >> 8) & 255}.${i & 255}.${n}`;
  return {
    apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: meta(`svc-${i}`, ns(i)),
    spec: { hosts: [host(i)], location: 'MESH_INTERNAL', resolution: 'STATIC', ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
      endpoints: [{ address: ip(1), labels: { version: 'v1' } }, { address: ip(2), labels: { version: 'v2' } }] },
  } as IstioResource;
}
function destinationRule(i: number): IstioResource {
  return {
    apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: meta(`svc-${i}`, ns(i)),
    spec: { host: host(i), trafficPolicy: { outlierDetection: { consecutive5xxErrors: 5, interval: '10s' } }, subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] },
  } as IstioResource;
}
function virtualService(i: number): IstioResource {
  return {
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: meta(`svc-${i}`, ns(i)),
    spec: { hosts: [host(i)], http: [{ route: [{ destination: { host: host(i), subset: 'v1' }, weight: 80 }, { destination: { host: host(i), subset: 'v2' }, weight: 20 }], timeout: '5s' }] },
  } as IstioResource;
}

/** One change as the admin API takes it. */
interface Change {
  kind: 'modify VirtualService weight' | 'add DestinationRule' | 'delete ServiceEntry';
  method: 'POST' | 'DELETE';
  path: string;
  body?: string;
}

function changes(count: number, offset: number): Change[] {
  const out: Change[] = [];
  for (let n = 0; n < count; n++) {
    const i = (offset + n * 7919) % SERVICES; // spread over the config, never the same service twice
    const which = n % 3;
    if (which === 0) {
      const w = 10 + (n % 70);
      out.push({ kind: 'modify VirtualService weight', method: 'POST', path: '/apply', body: `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc-${i}, namespace: ${ns(i)} }
spec:
  hosts: [${host(i)}]
  http:
  - route:
    - { destination: { host: ${host(i)}, subset: v1 }, weight: ${100 - w} }
    - { destination: { host: ${host(i)}, subset: v2 }, weight: ${w} }
    timeout: 5s
` });
    } else if (which === 1) {
      // Sorts before svc-<i> in the same namespace, so it becomes the service's rule.
      out.push({ kind: 'add DestinationRule', method: 'POST', path: '/apply', body: `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: extra-${i}, namespace: ${ns(i)} }
spec:
  host: ${host(i)}
  trafficPolicy: { loadBalancer: { simple: LEAST_REQUEST } }
  subsets: [{ name: v1, labels: { version: v1 } }]
` });
    } else {
      out.push({ kind: 'delete ServiceEntry', method: 'DELETE', path: `/config/ServiceEntry/${ns(i)}/svc-${i}` });
    }
  }
  return out;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Applies one change; resolves the ms until the new snapshot is served and until the loop is free. */
async function time(server: ControlServer, change: Change): Promise<{ served: number; idle: number }> {
  const before = server.snapshot();
  const t0 = performance.now();
  const res = await request(`http://127.0.0.1:${server.adminPort}${change.path}`, {
    method: change.method,
    ...(change.body !== undefined ? { body: change.body, headers: { 'content-type': 'application/yaml' } } : {}),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${change.kind}: ${res.statusCode} ${text}`);
  while (server.snapshot() === before) await turn();
  const served = performance.now() - t0;
  // A timer fires only once the loop is free: whatever ran after the snapshot is counted here.
  await new Promise((resolve) => setTimeout(resolve, 0));
  return { served, idle: performance.now() - t0 };
}

interface Run {
  initialMs: number;
  xdsResources: number;
  byKind: Map<string, Array<{ served: number; idle: number }>>;
}

async function run(incremental: boolean, list: Change[]): Promise<Run> {
  const resources: IstioResource[] = [];
  for (let i = 0; i < SERVICES; i++) resources.push(serviceEntry(i), destinationRule(i), virtualService(i));
  const t0 = performance.now();
  const common = { xdsPort: 0, adminPort: 0, warmupMs: 0, debounceMs: 0, incrementalTranslation: incremental };
  const server = PERSIST
    ? await createControlServer({ ...common, stateDir: mkdtempSync(join(tmpdir(), 'meshlet-bench-state-')) })
    : await createControlServer({ ...common, store: new MemoryStore(resources) });
  if (PERSIST) {
    await server.store.apply(resources);
    server.rebuild();
  }
  const initialMs = performance.now() - t0;
  const snap = server.snapshot();
  const xdsResources = snap.typeUrls().reduce((n, t) => n + snap.resources(t).size, 0);
  const byKind = new Map<string, Array<{ served: number; idle: number }>>();
  try {
    // One untimed change first: the first admin request and the first patch warm their code up.
    await time(server, changes(1, SERVICES - 1)[0]!);
    for (const c of list) {
      const t = await time(server, c);
      byKind.set(c.kind, [...(byKind.get(c.kind) ?? []), t]);
    }
  } finally {
    await server.close();
  }
  return { initialMs, xdsResources, byKind };
}

function cell(samples: number[] | undefined): string {
  if (!samples?.length) return '-';
  return `${fmt(percentile(samples, 50))} / ${fmt(percentile(samples, 99))} / ${fmt(Math.max(...samples))}`;
}

async function main(): Promise<void> {
  const incrementalChanges = changes(CHANGES, 1);
  const inc = await run(true, incrementalChanges);
  // The same changes (the first FULL_CHANGES of each kind) with full rebuilds.
  const fullList: Change[] = [];
  for (const kind of ['modify VirtualService weight', 'add DestinationRule', 'delete ServiceEntry']) fullList.push(...incrementalChanges.filter((c) => c.kind === kind).slice(0, FULL_CHANGES));
  const full = await run(false, fullList);

  console.log(`\nIncremental translation: ${SERVICES} ServiceEntries + ${SERVICES} DestinationRules + ${SERVICES} VirtualServices (${3 * SERVICES} resources, ${inc.xdsResources} xDS resources); Node ${process.version}`);
  console.log(`Changes through the admin API${PERSIST ? ' (applied resources persisted in a state directory)' : ''}; ms p50 / p99 / max over ${CHANGES} incremental and ${fullList.length} full-rebuild changes.\n`);
  console.log('| change | incremental: served | incremental: loop free | full rebuild: served | full rebuild: loop free | goal (served ≤ 100 ms) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(`| initial build (server start) | ${fmt(inc.initialMs)} | | ${fmt(full.initialMs)} | | |`);
  const all: number[] = [];
  for (const kind of inc.byKind.keys()) {
    const i = inc.byKind.get(kind)!;
    const f = full.byKind.get(kind);
    all.push(...i.map((s) => s.served));
    const p99 = percentile(i.map((s) => s.served), 99);
    console.log(`| ${kind} | ${cell(i.map((s) => s.served))} | ${cell(i.map((s) => s.idle))} | ${cell(f?.map((s) => s.served))} | ${cell(f?.map((s) => s.idle))} | ${p99 <= GOAL_MS ? '✔ met' : '✘ not met'} (p99 ${fmt(p99)} ms) |`);
  }
  const p99 = percentile(all, 99);
  console.log(`\nGoal: one-resource change served in ≤ ${GOAL_MS} ms at ${3 * SERVICES} resources — ${p99 <= GOAL_MS ? '✔ met' : '✘ not met'}: p99 ${fmt(p99)} ms, max ${fmt(Math.max(...all))} ms over ${all.length} changes.`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
