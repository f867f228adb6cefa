// Issue 11, item 1: restart without loss, the operator's bad day for real. `meshlet control` runs
// as a child process and is SIGKILLed 5 times while mesh clients send requests by name to
// services that only announced themselves (no config names them: the bug was `ENOTFOUND web`
// after a restart, when the first SotW came without the services not yet re-announced). Every
// restart comes back on the same address with the same config dir and state dir. No request
// may fail, and a change written to the config dir after the last restart reaches every client.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMesh } from '../../../src/mesh/create.js';
import type { Mesh } from '../../../src/mesh/types.js';
import { ControlProcess, freePort } from './control-process.js';
import { Load, type Target } from './load.js';

const KILLS = 5;
/** Per client: 10 ms ticks × 2 targets × 2 clients ≈ 400 rps offered. */
const TICK_MS = 10;

interface StatusBody { clients: { id: string; types: Record<string, { ackedVersion?: string; pending: boolean }> }[] }

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await Promise.resolve().then(check).catch(() => false)) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Every node id has a stream on this server that ACKed LDS and CDS. */
async function allSynced(control: ControlProcess, ids: readonly string[]): Promise<boolean> {
  const res = await fetch(`${control.adminUrl}/status`);
  if (res.status !== 200) return false;
  const body = (await res.json()) as StatusBody;
  return ids.every((id) => body.clients.some((c) => c.id === id && c.types['LDS']?.ackedVersion && c.types['CDS']?.ackedVersion));
}

/** An announced backend: a mesh serving `name` as `service` (version label) on servicePort 80. */
async function backend(controlPlane: string, service: string, version: string, name: string): Promise<Mesh> {
  const mesh = await createMesh({ controlPlane, service, labels: { app: service, version } });
  cleanup.push(() => mesh.close({ signal: AbortSignal.timeout(2000) }));
  await mesh.listen(createServer((_req, res) => res.end(name)), { port: 0, servicePort: 80 });
  return mesh;
}

test('5 SIGKILLs of meshlet control under load: 0 failed requests, and a later change reaches every client', { timeout: 110_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-sigkill-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const configDir = join(dir, 'config');
  const stateDir = join(dir, 'state');
  await mkdir(configDir);
  const xdsPort = await freePort();
  const args = ['--config', configDir, '--xds-port', String(xdsPort), '--admin-port', '0', '--state-dir', stateDir];
  let control = await ControlProcess.start(args);
  cleanup.push(() => control.stop());
  const controlPlane = `127.0.0.1:${xdsPort}`;
  assert.equal(control.xdsAddress, controlPlane);

  const backends = [
    await backend(controlPlane, 'web', 'v1', 'web-v1'),
    await backend(controlPlane, 'web', 'v2', 'web-v2'),
    await backend(controlPlane, 'api', 'v1', 'api'),
  ];
  const clients: Mesh[] = [];
  for (let i = 0; i < 2; i++) {
    const mesh = await createMesh({ controlPlane, service: `client-${i}` });
    cleanup.push(() => mesh.close({ signal: AbortSignal.timeout(2000) }));
    clients.push(mesh);
  }
  const ids = [...backends, ...clients].map((m) => String(m.xds.node.id));
  // Every client knows both services before the load starts (the baseline is a working mesh).
  await waitFor('every client to know web and api', 15_000, () => clients.every((m) => m.engine.knowsHost('web', 80) && m.engine.knowsHost('api', 80)));
  await waitFor('every mesh synced with the first server', 15_000, () => allSynced(control, ids));

  const web: Target = { url: 'http://web/', expect: new Set(['web-v1', 'web-v2']) };
  const api: Target = { url: 'http://api/', expect: new Set(['api']) };
  const load = new Load(clients, [web, api], { tickMs: TICK_MS, maxInFlight: 32, timeoutMs: 5000 });
  load.start();
  cleanup.push(() => load.stop());
  const began = Date.now();

  const downtimes: number[] = [];
  const resyncs: number[] = [];
  for (let kill = 1; kill <= KILLS; kill++) {
    await sleep(1000);
    const pid = control.pid;
    const t0 = Date.now();
    await control.kill();
    // Down for a while (longer each time: clients' reconnect backoff grows meanwhile).
    await sleep(200 * kill);
    control = await ControlProcess.start(args);
    downtimes.push(Date.now() - t0);
    assert.equal(control.xdsAddress, controlPlane, 'the restarted server is on the same address');
    assert.notEqual(control.pid, pid);
    // Kill 3 comes before the clients are back: a restart during the warm-up of the previous one.
    if (kill === 3) continue;
    resyncs.push(await waitFor(`every mesh to resync after kill ${kill}`, 20_000, () => allSynced(control, ids)));
  }
  await waitFor('every mesh to resync after the last kill', 20_000, () => allSynced(control, ids));
  await sleep(1000);
  const beforeChange = { ...load.stats };

  // The change after the restart: web now goes to the api backend (a file in the watched dir).
  load.retarget([{ url: web.url, expect: new Set(['web-v1', 'web-v2', 'api']) }, api]);
  const changedAt = Date.now();
  await writeFile(join(configDir, 'web.yaml'), `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web }
spec:
  hosts: [web]
  http:
  - route: [{ destination: { host: api } }]
`);
  // Reached: each client's last 50 answers for web came from api, the first of them at `since`.
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

  const { sent, ok, failed, reasons, samples } = load.stats;
  t.diagnostic(`${KILLS} SIGKILLs: ${failed} failed of ${sent} requests (${beforeChange.sent} before the change) in ${seconds.toFixed(1)} s, ${(sent / seconds).toFixed(0)} rps, ${load.skipped} ticks skipped (in-flight cap)`);
  t.diagnostic(`kill → ready: ${downtimes.join(', ')} ms; ready → every mesh resynced: ${resyncs.join(', ')} ms`);
  t.diagnostic(`change → every client on the new route: ${[...reached.values()].map((ms) => `${ms} ms`).join(', ')}`);
  assert.equal(failed, 0, `failed requests: ${JSON.stringify([...reasons])}\n${samples.join('\n')}\ncontrol output:\n${control.output}`);
  assert.equal(ok, sent);
  assert.ok(sent >= 2000, `the load ran (${sent} requests)`);
});
