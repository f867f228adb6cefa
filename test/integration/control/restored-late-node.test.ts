// A control server restarted from its state dir keeps a restored announcement until its node is
// back, even when the node's reconnect backoff outlasts the warm-up. The SIGKILL scenario
// (restart-sigkill.test.ts) lost `api` / `echo` this way in about 1 run of 2 under load: after two
// restarts in a row a client's next attempt was 10–12.6 s away (1 s × 1.6ⁿ ± 20 %), the restored
// slot expired 10 s after the restore, and every client was told the service was gone (a delta
// removed_resources or a SotW response without it alike) until the node re-announced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { XdsClient } from '../../../src/xds/ads-client.js';
import { buildNode } from '../../../src/xds/node.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { freePort } from './control-process.js';
import { waitFor } from './fixtures.js';

const API_CLUSTER = 'outbound|8080||api.default.svc.cluster.local';

test('a restored announcement outlives the warm-up: a node in long reconnect backoff comes back to its endpoint; delta and SotW clients never see the service removed', { timeout: 30_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-restored-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const xdsPort = await freePort();
  // A warm-up far shorter than the announcer's backoff below: the node returns after the window.
  const options = { xdsPort, adminPort: null, stateDir: dir, warmupMs: 300, withdrawGraceMs: 100, debounceMs: 1 } as const;
  let server: ControlServer = await createControlServer(options);
  t.after(() => server.close());
  const target = `127.0.0.1:${xdsPort}`;

  // The announcing node: its next attempt after a break is 1.5 s away (a client deep in backoff).
  const announcer = new XdsClient({ server: target, node: buildNode({ id: 'api-1', service: 'api', address: '127.0.0.1', ports: [{ number: 8080 }] }), backoff: { initialMs: 1500, jitter: 0 }, delta: true });
  t.after(() => announcer.close());
  announcer.watch(TYPE_URL.listener, '*', { onChange() {} });

  // Two callers, one per protocol, back quickly after a break.
  const removed: string[] = [];
  const callers = [true, false].map((delta) => {
    const c = new XdsClient({ server: target, node: buildNode({ id: `caller-${delta ? 'delta' : 'sotw'}` }), backoff: { initialMs: 20, maxMs: 100 }, delta });
    t.after(() => c.close());
    c.watch(TYPE_URL.cluster, '*', { onChange() {}, onRemove: (name) => removed.push(`${c.protocol}: ${name}`) });
    return c;
  });
  await waitFor(() => callers.every((c) => c.get(TYPE_URL.cluster, API_CLUSTER)), 10_000, 'both callers to hold the api cluster');
  assert.deepEqual(callers.map((c) => c.protocol), ['delta', 'sotw']);

  // The server goes; the state file keeps api-1 (its stream was open: nothing said it left).
  await server.close();
  server = await createControlServer(options);
  assert.ok(server.registry.list().some((a) => a.nodeId === 'api-1'), 'api-1 restored from the state dir');

  // The announcer's return, seen as the registry change that makes api-1 live again.
  await new Promise<void>((resolve) => {
    const live = () => server.registry.entries().some((e) => e.announcement.nodeId === 'api-1' && e.withdrawingAt === undefined);
    if (live()) return resolve();
    const d = server.registry.onChange(() => {
      if (live()) {
        d.dispose();
        resolve();
      }
    });
  });
  // Every caller answered what the server holds now (a removal, had there been one, arrived before).
  await server.settled(10_000);
  await waitFor(() => server.clients().filter((c) => c.id.startsWith('caller-')).length === 2, 10_000, 'both callers on the new server');
  await server.settled(10_000);
  assert.deepEqual(removed, [], 'no caller was told the api cluster is gone');
  assert.ok(callers.every((c) => c.get(TYPE_URL.cluster, API_CLUSTER)));
});
