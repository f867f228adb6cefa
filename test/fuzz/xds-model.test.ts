// An xDS model fuzz in the style of Envoy's test/server/config_validation/xds_fuzz_test.cc (random
// add/update/remove actions pushed over xDS, the receiver's state checked against an XdsVerifier
// model after each batch): seeded random sequences of ServiceEntry / DestinationRule /
// VirtualService upserts and removals go through the real control server (translate, encode,
// ADS) to real clients, once over SotW and once over incremental xDS (delta: only changed
// resources and removed_resources go over the wire, so the client's cache is built from
// deltas; the main client also drops its stream now and then and resumes with
// initial_resource_versions). After every settle each client must hold (a) exactly what an
// independent model of the operations says: listener, route, cluster and endpoint names, route
// weights and endpoint addresses, and (b) byte for byte the server's current snapshot. Fresh
// clients join now and then (a first state of the world after many updates).
// MESHLET_XDS_FUZZ_STEPS / MESHLET_XDS_FUZZ_SEED extend or reproduce a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import type { EndpointsModel, RouteConfigModel } from '../../src/core/model/index.js';
import type { Disposable } from '../../src/internal/events.js';
import { XdsClient } from '../../src/xds/ads-client.js';
import { buildNode } from '../../src/xds/node.js';
import { TYPE_URL } from '../../src/xds/type-urls.js';
import { Rng } from './mutate.js';
import protobuf from 'protobufjs/minimal.js';

const STEPS = Number(process.env['MESHLET_XDS_FUZZ_STEPS'] ?? 2000);
const SEED = Number(process.env['MESHLET_XDS_FUZZ_SEED'] ?? 18_2026);
const HOSTS = Array.from({ length: 8 }, (_, i) => `h${i}.fuzz.example`);
const TYPES = [TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint] as const;

interface Se { port: number; endpoints: Array<{ address: string; version: string }> }
interface Model {
  se: Map<string, Se>;
  dr: Map<string, string[]>;
  /** host → weighted destinations (hosts). */
  vs: Map<string, Array<{ host: string; weight: number }>>;
}

const name = (h: string) => h.split('.')[0]!;
const cluster = (h: string, port: number, subset = '') => `outbound|${port}|${subset}|${h}`;

function yamlOf(kind: 'se' | 'dr' | 'vs', host: string, m: Model): string {
  if (kind === 'se') {
    const se = m.se.get(host)!;
    const eps = se.endpoints.map((e) => `{ address: ${e.address}, labels: { version: ${e.version} } }`).join(', ');
    return `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: ${name(host)}, namespace: default }\nspec:\n  hosts: [${host}]\n  resolution: STATIC\n  ports: [{ number: ${se.port}, name: http, protocol: HTTP }]\n  endpoints: [${eps}]\n`;
  }
  if (kind === 'dr') {
    const subsets = m.dr.get(host)!.map((s) => `{ name: ${s}, labels: { version: ${s} } }`).join(', ');
    return `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: ${name(host)}, namespace: default }\nspec:\n  host: ${host}\n  subsets: [${subsets}]\n`;
  }
  const route = m.vs.get(host)!.map((d) => `{ destination: { host: ${d.host} }, weight: ${d.weight} }`).join(', ');
  return `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: ${name(host)}, namespace: default }\nspec:\n  hosts: [${host}]\n  http: [{ route: [${route}] }]\n`;
}

/** What every client must hold for the model's config. */
function expected(m: Model) {
  const listeners = new Set<string>();
  const routes = new Map<string, string>();
  const endpoints = new Map<string, string>();
  for (const [h, se] of m.se) {
    // A single-port service is also reachable without the port (translate/lds.ts).
    listeners.add(`${h}:${se.port}`);
    listeners.add(h);
    const vs = m.vs.get(h);
    // One destination is a plain cluster action, several a weighted one.
    routes.set(`${h}:${se.port}`, vs && vs.length > 1 ? vs.map((d) => `${cluster(d.host, m.se.get(d.host)!.port)}=${d.weight}`).join(',') : cluster(h, se.port));
    endpoints.set(cluster(h, se.port), se.endpoints.map((e) => e.address).sort().join(','));
    for (const s of m.dr.get(h) ?? []) endpoints.set(cluster(h, se.port, s), se.endpoints.filter((e) => e.version === s).map((e) => e.address).sort().join(','));
  }
  return { listeners, routes, endpoints };
}

function held(c: XdsClient) {
  const routes = new Map<string, string>();
  for (const [n, r] of c.all(TYPE_URL.route) as ReadonlyMap<string, RouteConfigModel>) {
    const a = r.virtualHosts[0]?.routes[0]?.action;
    routes.set(n, a?.kind === 'weighted' ? a.clusters.map((w) => `${w.name}=${w.weight}`).join(',') : a?.kind === 'cluster' ? a.cluster : `?${a?.kind}`);
  }
  const endpoints = new Map<string, string>();
  for (const [n, e] of c.all(TYPE_URL.endpoint) as ReadonlyMap<string, EndpointsModel>) endpoints.set(n, e.localities.flatMap((l) => l.endpoints.map((x) => x.address)).sort().join(','));
  return { listeners: new Set(c.all(TYPE_URL.listener).keys()), clusters: new Set(c.all(TYPE_URL.cluster).keys()), routes, endpoints };
}

/** The client's cached bytes per name for one type (white-box: what it would hand a watcher). */
function cachedBytes(c: XdsClient, typeUrl: string): Map<string, Buffer> {
  const states = (c as unknown as { states: Map<string, { cache: Map<string, { bytes: Uint8Array }> }> }).states;
  return new Map([...states.get(typeUrl)!.cache].map(([n, e]) => [n, Buffer.from(e.bytes)]));
}

/** The `value` of a google.protobuf.Any (the server keeps resources Any-wrapped, the client the inner message). */
function anyValue(bytes: Uint8Array): Buffer {
  const r = protobuf.Reader.create(bytes);
  let value = Buffer.alloc(0);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 2) value = Buffer.from(r.bytes());
    else r.skipType(tag & 7);
  }
  return value;
}

function check(server: ControlServer, c: XdsClient, m: Model, where: string): void {
  const want = expected(m);
  const got = held(c);
  assert.deepEqual([...got.listeners].sort(), [...want.listeners].sort(), `${where}: listeners`);
  assert.deepEqual([...got.clusters].sort(), [...want.endpoints.keys()].sort(), `${where}: clusters`);
  assert.deepEqual(new Map([...got.routes].sort()), new Map([...want.routes].sort()), `${where}: routes`);
  assert.deepEqual(new Map([...got.endpoints].sort()), new Map([...want.endpoints].sort()), `${where}: endpoints`);
  for (const t of TYPES) {
    const mine = cachedBytes(c, t);
    const served = server.snapshot().resources(t);
    // The wildcard types hold all the server has; the named ones what the client subscribes (checked against the model above).
    if (t === TYPE_URL.listener || t === TYPE_URL.cluster) assert.deepEqual([...mine.keys()].sort(), [...served.keys()].sort(), `${where}: ${t} names`);
    for (const [n, bytes] of mine) {
      const e = served.get(n);
      assert.ok(e, `${where}: the client holds ${t} ${n}, which the server no longer has`);
      assert.ok(bytes.equals(anyValue(e.bytes)), `${where}: ${t} ${n} differs from the server's bytes`);
    }
  }
}

/**
 * A client that subscribes the way a mesh (and Envoy) does: every listener and cluster (SotW
 * wildcard), and by name the route configurations the listeners name and the assignments the
 * EDS clusters name, dropping those no longer named (RDS/EDS removal is by unsubscribing).
 */
/**
 * Settles, then checks; a client that subscribes by name (RDS/EDS) does so only after it applied
 * the listeners/clusters that name them, so `settled()` can resolve between its LDS/CDS ACK and
 * the subscription that follows. The check is retried after further settles for up to 5 s: a
 * divergence that outlives them is a real one and fails with the last check's error.
 */
async function converged(server: ControlServer, c: XdsClient, m: Model, where: string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    await settle(server, where);
    try {
      return check(server, c, m, where);
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `server.settled()`, failing with every client's sync state (what did not answer). */
async function settle(server: ControlServer, where: string): Promise<void> {
  try {
    await server.settled(60_000);
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}\n${JSON.stringify(server.clients(), null, 1)}`);
  }
}

function client(server: ControlServer, id: string, delta: boolean): XdsClient {
  const c = new XdsClient({ server: `127.0.0.1:${server.xdsPort}`, node: buildNode({ id }), backoff: { initialMs: 20, maxMs: 200 }, delta });
  const routes = new Map<string, Disposable>();
  const assignments = new Map<string, Disposable>();
  const follow = (subs: Map<string, Disposable>, want: Set<string>, typeUrl: typeof TYPE_URL.route | typeof TYPE_URL.endpoint) => {
    for (const [n, d] of subs) if (!want.has(n)) { d.dispose(); subs.delete(n); }
    for (const n of want) if (!subs.has(n)) subs.set(n, c.watch(typeUrl, n, { onChange() {} }));
  };
  const onListeners = () => follow(routes, new Set([...c.all(TYPE_URL.listener).values()].flatMap((l) => (l.routeConfigName ? [l.routeConfigName] : []))), TYPE_URL.route);
  const onClusters = () => follow(assignments, new Set([...c.all(TYPE_URL.cluster).values()].flatMap((x) => (x.type === 'EDS' ? [x.edsServiceName ?? x.name] : []))), TYPE_URL.endpoint);
  c.watch(TYPE_URL.listener, '*', { onChange: onListeners, onRemove: onListeners });
  c.watch(TYPE_URL.cluster, '*', { onChange: onClusters, onRemove: onClusters });
  return c;
}

/**
 * Ends the client's current stream from its side (white-box: the transport's cancel), as a
 * network failure would: the client reconnects after its backoff, from its cache.
 */
function dropStream(c: XdsClient): void {
  (c as unknown as { stream?: { call: { cancel(): void } } }).stream?.call.cancel();
}

for (const mode of ['sotw', 'delta'] as const) test(`xDS model fuzz (${mode}): ${STEPS} random operations (seed ${SEED}), 0 divergences`, { timeout: 600_000 }, async (t) => {
  const delta = mode === 'delta';
  const rng = new Rng(SEED);
  const server = await createControlServer({ xdsPort: 0, adminPort: null, stateDir: null, warmupMs: 0, debounceMs: 1 });
  const m: Model = { se: new Map(), dr: new Map(), vs: new Map() };
  const main = client(server, 'fuzz-main', delta);
  let settles = 0;
  let joins = 0;
  let reconnects = 0;
  try {
    for (let step = 0; step < STEPS;) {
      // A batch of 1-4 operations between two settles (the server coalesces them).
      const batch = 1 + rng.int(4);
      const log: string[] = [];
      for (let i = 0; i < batch && step < STEPS; i++, step++) {
        const h = rng.pick(HOSTS);
        const op = rng.int(6);
        const put = async (kind: 'se' | 'dr' | 'vs') => server.store.apply(parseConfig(yamlOf(kind, h, m), `${kind}-${h}.yaml`).resources);
        const del = async (kind: 'ServiceEntry' | 'DestinationRule' | 'VirtualService') => void await server.store.delete(kind, 'default', name(h));
        if (op <= 1) {
          const endpoints = Array.from({ length: rng.int(4) }, (_, k) => ({ address: `10.${HOSTS.indexOf(h)}.${rng.int(4)}.${k + 1}`, version: rng.pick(['v1', 'v2']) }));
          m.se.set(h, { port: rng.pick([80, 9080]), endpoints: [...new Map(endpoints.map((e) => [e.address, e])).values()] });
          await put('se');
          log.push(`put SE ${h}`);
        } else if (op === 2) {
          // Removing a service removes the routes that name it (what an operator does with it).
          for (const [vh, dests] of [...m.vs]) {
            if (vh !== h && !dests.some((d) => d.host === h)) continue;
            m.vs.delete(vh);
            await server.store.delete('VirtualService', 'default', name(vh));
          }
          m.se.delete(h);
          await del('ServiceEntry');
          log.push(`del SE ${h}`);
        } else if (op === 3) {
          if (rng.int(3) === 0) {
            m.dr.delete(h);
            await del('DestinationRule');
            log.push(`del DR ${h}`);
          } else {
            m.dr.set(h, rng.pick([['v1'], ['v2'], ['v1', 'v2']]));
            await put('dr');
            log.push(`put DR ${h} ${m.dr.get(h)}`);
          }
        } else if (m.se.has(h) && rng.int(3) !== 0) {
          const other = rng.pick([...m.se.keys()]);
          const w = 1 + rng.int(99);
          m.vs.set(h, other === h ? [{ host: h, weight: 100 }] : [{ host: h, weight: w }, { host: other, weight: 100 - w }]);
          await put('vs');
          log.push(`put VS ${h} → ${other}`);
        } else {
          m.vs.delete(h);
          await del('VirtualService');
          log.push(`del VS ${h}`);
        }
      }
      await converged(server, main, m, `${mode} step ${step} (seed ${SEED}; last batch: ${log.join('; ')})`);
      settles++;
      if (delta && settles % 50 === 25) {
        // Resume from the cache on a new stream: the server sends only what initial_resource_versions lacks.
        const protocol = main.protocol;
        assert.equal(protocol, 'delta');
        const back = new Promise<void>((resolve) => { const sub = main.on('connected', () => { sub.dispose(); resolve(); }); });
        dropStream(main);
        await back;
        reconnects++;
      }
      if (settles % 100 === 0) {
        const fresh = client(server, `fuzz-join-${joins++}`, delta);
        try {
          // Joined once it answered its first listeners and clusters; then everything it followed.
          await new Promise<void>((resolve) => {
            const acked = new Set<string>();
            const sub = fresh.on('ack', (typeUrl) => {
              acked.add(typeUrl);
              if (acked.has(TYPE_URL.listener) && acked.has(TYPE_URL.cluster)) { sub.dispose(); resolve(); }
            });
          });
          await converged(server, fresh, m, `${mode} fresh client at step ${step} (seed ${SEED})`);
        } finally {
          await fresh.close();
        }
      }
    }
    assert.equal(main.protocol, mode);
    t.diagnostic(`${mode}: ${STEPS} operations in ${settles} settles, ${joins} fresh clients, ${reconnects} reconnects from cache, 0 divergences`);
  } finally {
    await main.close();
    await server.close();
  }
});
