// Chaos on the HA setup (issue 18): three etcd members (real /usr/bin/etcd), three `meshlet
// control --store etcd://…` processes on them (bin/meshlet.js), six meshes in this process that
// serve and call each other under steady load. Control servers are SIGKILLed one at a time, then
// all at once, and restarted; then one etcd member of three is SIGKILLed. A config change is
// applied (through whichever server is up) at every step. Counted at the end: no request failed,
// every change reached every mesh, and no mesh ever saw a service lose its last endpoint.
// Every wait is on an observable condition (generous deadlines for a loaded machine), never a sleep.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMesh, type Mesh } from '../../src/index.js';
import type { EndpointsModel } from '../../src/core/model/index.js';
import { TYPE_URL } from '../../src/xds/type-urls.js';
import { ControlProcess, freePort } from '../integration/control/control-process.js';
import { EtcdCluster, haveEtcd } from '../helpers/etcd.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVICES = 6;
const WAIT = 90_000;
const svc = (i: number) => `svc${i}`;
const eds = (i: number) => `outbound|9080||${svc(i)}.default.svc.cluster.local`;

interface Server { xdsPort: number; adminPort: number; proc: ControlProcess | undefined }

let etcd: EtcdCluster | undefined;
const servers: Server[] = [];
const meshes: Mesh[] = [];
let running = false;
const loops: Promise<void>[] = [];

after(async () => {
  running = false;
  await Promise.allSettled(loops);
  await Promise.allSettled(meshes.map((m) => m.close()));
  await Promise.allSettled(servers.map((s) => s.proc?.stop()));
  await etcd?.stop();
});

async function startServer(s: Server): Promise<void> {
  s.proc = await ControlProcess.start([
    '--store', etcd!.url, '--xds-port', String(s.xdsPort), '--admin-port', String(s.adminPort),
    // Longer than a full restart of all three on a loaded machine: a dead server's announcements
    // must outlive it until its clients re-announce.
    '--lease-ttl', '60',
  ], { bin: true, timeoutMs: WAIT });
}

/** `meshlet apply` of `yaml` through the first server that takes it (any server takes writes). */
async function apply(yaml: string): Promise<void> {
  await waitFor(async () => {
    for (const s of servers) {
      if (!s.proc) continue;
      const res = await fetch(`http://127.0.0.1:${s.adminPort}/apply`, { method: 'POST', body: yaml, headers: { 'content-type': 'application/yaml', 'x-meshlet-file': 'chaos.yaml' } }).catch(() => undefined);
      if (res?.status === 200) return true;
      await res?.body?.cancel();
    }
    return false;
  }, WAIT, 'a control server to take the change');
}

const change = (n: number) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: chaos-${n}, namespace: default }
spec:
  hosts: [chaos-${n}.example.com]
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 10.9.0.${n + 1} }]
`;
const hasChange = (m: Mesh, n: number) => m.xds.get(TYPE_URL.cluster, `outbound|80||chaos-${n}.example.com`) !== undefined;
const endpointsOf = (m: Mesh, i: number) => (m.xds.get(TYPE_URL.endpoint, eds(i)) as EndpointsModel | undefined)?.localities.reduce((n, l) => n + l.endpoints.length, 0) ?? 0;

test('HA chaos: control servers and an etcd member SIGKILLed under load; nothing fails, nothing is lost', { timeout: 300_000 }, async (t) => {
  assert.ok(haveEtcd(), 'needs /usr/bin/etcd (Debian etcd-server) or MESHLET_ETCD_BIN');
  etcd = await EtcdCluster.start(3);
  for (let i = 0; i < 3; i++) servers.push({ xdsPort: await freePort(), adminPort: await freePort(), proc: undefined });
  await Promise.all(servers.map(startServer));
  const addresses = servers.map((s) => `127.0.0.1:${s.xdsPort}`);

  const lostEndpoint: string[] = [];
  for (let i = 0; i < SERVICES; i++) {
    // Each mesh's primary is a different server, so every kill moves some of them.
    const order = [...addresses.slice(i % 3), ...addresses.slice(0, i % 3)];
    const mesh = await createMesh({ controlPlane: order, service: svc(i), namespace: 'default', xdsBackoff: { initialMs: 100, maxMs: 1000 }, initialFetchTimeoutMs: WAIT });
    meshes.push(mesh);
    const app = createServer((_req, res) => res.end(svc(i)));
    await mesh.listen(app, { port: 0, servicePort: 9080 });
  }
  await waitFor(() => meshes.every((m) => [...Array(SERVICES).keys()].every((i) => endpointsOf(m, i) === 1)), WAIT, 'every mesh to know every service');
  const disconnects = meshes.map(() => 0);
  meshes.forEach((m, k) => m.xds.on('disconnected', () => void disconnects[k]!++));
  // From here on, no mesh may ever see a service without its endpoint.
  meshes.forEach((m, k) => m.xds.on('update', (typeUrl) => {
    if (typeUrl !== TYPE_URL.endpoint) return;
    for (let i = 0; i < SERVICES; i++) if (endpointsOf(m, i) === 0) lostEndpoint.push(`mesh ${k} lost ${svc(i)}`);
  }));

  let requests = 0;
  const failures: string[] = [];
  running = true;
  meshes.forEach((mesh, k) => {
    for (let lane = 0; lane < 2; lane++) {
      loops.push((async () => {
        for (let n = lane; running; n++) {
          const target = svc((k + 1 + (n % (SERVICES - 1))) % SERVICES);
          try {
            const res = await mesh.fetch(`http://${target}:9080/`);
            const body = await res.text();
            if (res.status !== 200 || body !== target) failures.push(`${svc(k)} → ${target}: ${res.status} ${body.slice(0, 80)}`);
          } catch (err) {
            failures.push(`${svc(k)} → ${target}: ${(err as Error).message}`);
          }
          requests++;
        }
      })());
    }
  });
  const moreRequests = async (n: number, what: string) => {
    const until = requests + n;
    await waitFor(() => requests >= until, WAIT, `${n} more requests ${what}`);
  };
  let changes = 0;
  const applyAndConverge = async (what: string) => {
    const n = changes++;
    await apply(change(n));
    await waitFor(() => meshes.every((m) => hasChange(m, n)), WAIT, `change ${n} (${what}) on every mesh`);
  };

  await moreRequests(50, 'before the chaos');
  // The first change goes in with `meshlet apply` against the second server: any server takes writes.
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-chaos-'));
  await writeFile(join(dir, 'change.yaml'), change(changes));
  // Asynchronously, as from another terminal: spawnSync would stall every mesh in this process
  // for the CLI's whole run (seconds on a loaded machine) and fail their requests, not the mesh.
  const cli = await promisify(execFile)(process.execPath, ['bin/meshlet.js', 'apply', '-f', join(dir, 'change.yaml'), '--server', `127.0.0.1:${servers[1]!.adminPort}`], { cwd: ROOT, encoding: 'utf8' })
    .then(({ stdout, stderr }) => ({ status: 0, stdout, stderr }), (err: { code?: number; stdout?: string; stderr?: string }) => ({ status: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }));
  await rm(dir, { recursive: true, force: true });
  assert.equal(cli.status, 0, `meshlet apply: ${cli.stdout}${cli.stderr}`);
  const first = changes++;
  await waitFor(() => meshes.every((m) => hasChange(m, first)), WAIT, 'the change from meshlet apply on every mesh');
  await applyAndConverge('all up');

  for (const s of servers) {
    await s.proc!.kill();
    s.proc = undefined;
    await applyAndConverge(`server on ${s.xdsPort} killed`);
    await moreRequests(30, 'with one server down');
    await startServer(s);
    await applyAndConverge(`server on ${s.xdsPort} restarted`);
  }

  await Promise.all(servers.map(async (s) => {
    await s.proc!.kill();
    s.proc = undefined;
  }));
  await moreRequests(60, 'with every control server down (cached config)');
  await Promise.all(servers.map(startServer));
  await applyAndConverge('all restarted');

  await etcd.members[0]!.kill();
  await applyAndConverge('one etcd member of three killed');
  await moreRequests(50, 'after the etcd member was killed');

  running = false;
  await Promise.all(loops);
  assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed`);
  assert.deepEqual(lostEndpoint, []);
  for (let n = 0; n < changes; n++) for (const [k, m] of meshes.entries()) assert.ok(hasChange(m, n), `mesh ${k} has change ${n}`);
  // Every server (each on the etcd view) still serves all six announced services.
  for (const s of servers) {
    const services = await (await fetch(`http://127.0.0.1:${s.adminPort}/registry`)).json() as Array<{ hostname: string; endpoints: unknown[] }>;
    for (let i = 0; i < SERVICES; i++) {
      assert.ok(services.find((x) => x.hostname === `${svc(i)}.default.svc.cluster.local`)?.endpoints.length, `server ${s.xdsPort} serves ${svc(i)}`);
    }
  }
  // Same etcd state, same versions on every server: a client that fails over re-downloads nothing.
  const versions = async (s: Server) => Promise.all(['LDS', 'RDS', 'CDS', 'EDS'].map(async (t) => ((await (await fetch(`http://127.0.0.1:${s.adminPort}/debug/xds?type=${t}`)).json()) as { version: string }).version));
  await waitFor(async () => new Set((await Promise.all(servers.map(versions))).map((v) => v.join())).size === 1, WAIT, 'equal xDS versions on the three servers');
  assert.ok(requests > 300, `load ran (${requests} requests)`);
  // Every mesh lost its stream at least once (all servers were down together) and came back.
  assert.ok(disconnects.every((d) => d > 0), `disconnects per mesh: ${disconnects.join(',')}`);
  t.diagnostic(`${requests} requests, 0 failed; ${changes} changes on all ${SERVICES} meshes; stream losses per mesh ${disconnects.join(',')}`);
});
