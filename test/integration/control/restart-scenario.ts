// Issue 11, item 1: restart without loss, the operator's bad day for real. `meshlet control` runs
// as a child process and is SIGKILLed while mesh clients send requests by name to services that
// only announced themselves (no config names them: the bug was `ENOTFOUND web` after a restart,
// when the first SotW came without the services not yet re-announced), and optionally to a
// ServiceEntry applied through the admin API. Every restart comes back on the same address with
// the same arguments. The scenario counts every failed request and then times a config change
// made after the last restart until every client follows it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { ECHO_SERVICE, EchoClient, echoCall, type EchoReply } from '../../../src/testing/index.js';
import { createMesh } from '../../../src/mesh/create.js';
import type { Mesh } from '../../../src/mesh/types.js';
import { ControlProcess, freePort } from './control-process.js';
import { Load, type LoadStats, type Target } from './load.js';

/** Offered load, requests per second over every client and target. */
const RPS = 400;

interface StatusBody { clients: { id: string; types: Record<string, { ackedVersion?: string }> }[] }

export interface ScenarioOptions {
  kills: number;
  /** Clean restarts (SIGTERM: the CLI closes the server) after the kills, as `systemctl restart` does. Default 0. */
  terms?: number;
  /** `meshlet control` arguments besides `--xds-port` / `--admin-port`. */
  args: string[];
  /** Apply a ServiceEntry `ext.example.com` through the admin API before the load (needs persisted config). */
  serviceEntry: boolean;
  /** Also call an announced gRPC service `echo:9090` through `mesh.grpc`. */
  grpc?: boolean;
  /** Makes web route to the api backend, after the last restart. */
  change(control: ControlProcess): Promise<void>;
  /**
   * What "back" means before the next kill: every mesh ACKed LDS and CDS on the new server, or
   * only has a stream to it (the memory store holds responses for the whole warm-up, 10 s).
   * Either way every mesh is ACKed on the last server before the change.
   */
  resync: 'acked' | 'connected';
}

export interface ScenarioResult {
  stats: LoadStats;
  skipped: number;
  seconds: number;
  /** Kill → the restarted server printed its address, ms. */
  downtimes: number[];
  /** Address printed → every mesh ACKed LDS and CDS on the new server, ms. */
  resyncs: number[];
  /** Change made → each client's answers for web come from api (first answer of a streak of 50), ms. */
  reached: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await Promise.resolve().then(check).catch(() => false)) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** POST /apply with a YAML body, as `meshlet apply` does. */
export async function adminApply(control: ControlProcess, yaml: string, label: string): Promise<void> {
  const res = await fetch(`${control.adminUrl}/apply`, { method: 'POST', headers: { 'content-type': 'application/yaml', 'x-meshlet-file': label }, body: yaml });
  if (res.status !== 200) throw new Error(`apply ${label}: ${res.status} ${await res.text()}`);
}

export const WEB_TO_API = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web }
spec:
  hosts: [web]
  http:
  - route: [{ destination: { host: api } }]
`;

/** Every node id has a stream on this server (that ACKed LDS and CDS, with `acked`). */
async function allSynced(control: ControlProcess, ids: readonly string[], acked = true): Promise<boolean> {
  const res = await fetch(`${control.adminUrl}/status`);
  if (res.status !== 200) return false;
  const body = (await res.json()) as StatusBody;
  return ids.every((id) => body.clients.some((c) => c.id === id && (!acked || (c.types['LDS']?.ackedVersion && c.types['CDS']?.ackedVersion))));
}

async function plainServer(body: string): Promise<Server> {
  const s = createServer((_req, res) => res.end(body));
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return s;
}

/**
 * Runs the scenario; every process and mesh it starts is stopped in `t.after`. Throws when a
 * wait times out; the caller asserts on the counts.
 */
export async function runRestartScenario(t: TestContext, o: ScenarioOptions): Promise<ScenarioResult> {
  const cleanup: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => {});
  });
  const xdsPort = await freePort();
  const args = [...o.args, '--xds-port', String(xdsPort), '--admin-port', '0'];
  let control = await ControlProcess.start(args);
  cleanup.push(() => control.stop());
  const controlPlane = `127.0.0.1:${xdsPort}`;
  if (control.xdsAddress !== controlPlane) throw new Error(`meshlet control is on ${control.xdsAddress}, not ${controlPlane}`);

  const backends: Mesh[] = [];
  for (const [service, version, name] of [['web', 'v1', 'web-v1'], ['web', 'v2', 'web-v2'], ['api', 'v1', 'api']] as const) {
    const mesh = await createMesh({ controlPlane, service, labels: { app: service, version } });
    cleanup.push(() => mesh.close({ signal: AbortSignal.timeout(2000) }));
    await mesh.listen(createServer((_req, res) => res.end(name)), { port: 0, servicePort: 80 });
    backends.push(mesh);
  }
  const targets: Target[] = [
    { url: 'http://web/', expect: new Set(['web-v1', 'web-v2']) },
    { url: 'http://api/', expect: new Set(['api']) },
  ];
  if (o.serviceEntry) {
    // A service only the applied config knows: no mesh behind it, no file names it.
    const ext = await plainServer('ext');
    cleanup.push(() => new Promise((r) => ext.close(r)));
    await adminApply(control, `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext }
spec:
  hosts: [ext.example.com]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${(ext.address() as AddressInfo).port} } }]
`, 'ext.yaml');
    targets.push({ url: 'http://ext.example.com/', expect: new Set(['ext']) });
  }
  if (o.grpc) {
    const mesh = await createMesh({ controlPlane, service: 'echo', labels: { app: 'echo', version: 'v1' } });
    cleanup.push(() => mesh.close({ signal: AbortSignal.timeout(2000) }));
    const server = mesh.grpc.createServer({ servicePort: 9090 });
    server.server.addService(ECHO_SERVICE, {
      Call: (_call: grpc.ServerUnaryCall<unknown, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => cb(null, { from: 'echo', metadata: {} }),
    });
    await server.bind('127.0.0.1:0');
    cleanup.push(() => server.close());
    backends.push(mesh);
    const channels = new Map<Mesh, grpc.Client>();
    cleanup.push(async () => { for (const c of channels.values()) c.close(); });
    targets.push({
      url: 'mesh:///echo:9090',
      expect: new Set(['echo']),
      call: async (m) => {
        let c = channels.get(m);
        if (!c) channels.set(m, (c = m.grpc.client(EchoClient, 'echo:9090')));
        return (await echoCall(c)).from;
      },
    });
  }
  const clients: Mesh[] = [];
  for (let i = 0; i < 2; i++) {
    const mesh = await createMesh({ controlPlane, service: `client-${i}` });
    cleanup.push(() => mesh.close({ signal: AbortSignal.timeout(2000) }));
    clients.push(mesh);
  }
  const ids = [...backends, ...clients].map((m) => String(m.xds.node.id));
  // The baseline is a working mesh: every client knows every service before the load starts.
  const hosts = targets.map((x) => { const u = new URL(x.url.replace('mesh:///', 'http://')); return [u.hostname, Number(u.port || 80)] as const; });
  await waitFor('every client to know every service', 15_000, () => clients.every((m) => hosts.every(([h, p]) => m.engine.knowsHost(h, p))));
  await waitFor('every mesh synced with the first server', 15_000, () => allSynced(control, ids));

  const load = new Load(clients, targets, { tickMs: Math.round((1000 * clients.length * targets.length) / RPS), maxInFlight: 32, timeoutMs: 5000 });
  load.start();
  cleanup.push(() => load.stop());
  const began = Date.now();

  const downtimes: number[] = [];
  const resyncs: number[] = [];
  const restarts = o.kills + (o.terms ?? 0);
  for (let kill = 1; kill <= restarts; kill++) {
    await sleep(1000);
    const t0 = Date.now();
    if (kill <= o.kills) await control.kill();
    else await control.stop();
    // Down longer each time (clients' reconnect backoff grows meanwhile).
    await sleep(200 * Math.min(kill, 5));
    control = await ControlProcess.start(args);
    downtimes.push(Date.now() - t0);
    if (control.xdsAddress !== controlPlane) throw new Error(`restarted on ${control.xdsAddress}, not ${controlPlane}`);
    // Kill 3 comes before the clients are back: a restart during the previous one's warm-up.
    if (kill === 3) continue;
    resyncs.push(await waitFor(`every mesh to resync after kill ${kill}`, 20_000, () => allSynced(control, ids, o.resync === 'acked')));
  }
  await waitFor('every mesh to ACK the last server', 30_000, () => allSynced(control, ids));
  await sleep(500);

  // The change after the last restart: web now goes to the api backend.
  const web = targets[0]!;
  load.retarget([{ url: web.url, expect: new Set([...web.expect, 'api']) }, ...targets.slice(1)]);
  const changedAt = Date.now();
  await o.change(control);
  const reached = new Map<number, number>();
  await waitFor('the change to reach every client', 20_000, () => {
    clients.forEach((_, i) => {
      const last = load.last.get(load.key(i, web.url));
      if (last?.backend === 'api' && last.streak >= 50 && !reached.has(i)) reached.set(i, last.since - changedAt);
    });
    return reached.size === clients.length;
  });
  await load.stop();
  const seconds = (Date.now() - began) / 1000;
  const result: ScenarioResult = { stats: load.stats, skipped: load.skipped, seconds, downtimes, resyncs, reached: [...reached.values()] };
  const { sent, failed } = result.stats;
  t.diagnostic(`${o.kills} SIGKILLs${o.terms ? ` + ${o.terms} SIGTERM` : ''}: ${failed} failed of ${sent} requests in ${seconds.toFixed(1)} s (${(sent / seconds).toFixed(0)} rps, ${load.skipped} skipped at the in-flight cap)`);
  t.diagnostic(`kill → ready: ${downtimes.join(', ')} ms; ready → every mesh ${o.resync}: ${resyncs.join(', ')} ms`);
  t.diagnostic(`change → every client on the new route: ${result.reached.join(', ')} ms`);
  if (failed > 0) t.diagnostic(`control output:\n${control.output}`);
  return result;
}
