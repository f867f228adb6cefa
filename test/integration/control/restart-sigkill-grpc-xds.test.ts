// Issue 11, item 1, for a stock @grpc/grpc-js-xds client (no meshlet code in it): a gRPC service
// that only announced itself stays reachable across 5 SIGKILL restarts of `meshlet control`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMesh } from '../../../src/mesh/create.js';
import { ECHO_SERVICE, EchoClient, echoCall, type EchoReply } from '../../../src/testing/index.js';
import { ControlProcess, freePort } from './control-process.js';
import { waitFor } from './restart-scenario.js';

test('a stock grpc-js-xds client loses no call to an announced service over 5 SIGKILLs', { timeout: 110_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-sigkill-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const xdsPort = await freePort();
  const args = ['--store', 'memory', '--state-dir', dir, '--xds-port', String(xdsPort), '--admin-port', '0'];
  let control = await ControlProcess.start(args);
  t.after(() => control.stop());
  const controlPlane = `127.0.0.1:${xdsPort}`;
  const meshes = [];
  for (const v of ['v1', 'v2']) {
    const mesh = await createMesh({ controlPlane, service: 'echo', labels: { app: 'echo', version: v } });
    t.after(() => mesh.close({ signal: AbortSignal.timeout(2000) }));
    const server = mesh.grpc.createServer({ servicePort: 9090 });
    server.server.addService(ECHO_SERVICE, {
      Call: (_c: grpc.ServerUnaryCall<unknown, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => cb(null, { from: `echo-${v}`, metadata: {} }),
    });
    await server.bind('127.0.0.1:0');
    meshes.push(mesh);
  }
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: controlPlane, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'stock-client', cluster: 'interop', locality: {} },
  });
  grpcXds.register();
  const client = new EchoClient('xds:///echo.default.svc.cluster.local:9090', grpc.credentials.createInsecure());
  t.after(() => client.close());
  await waitFor('the first xDS-routed call', 15_000, async () => (await echoCall(client, undefined, 2000)).from.startsWith('echo-'));

  let sent = 0;
  let failed = 0;
  const reasons = new Map<string, number>();
  let stop = false;
  const loop = async () => {
    while (!stop) {
      sent++;
      try {
        const r = await echoCall(client, undefined, 5000);
        if (!r.from.startsWith('echo-')) throw new Error(`answered by ${r.from}`);
      } catch (err) {
        failed++;
        const m = (err as Error).message;
        reasons.set(m, (reasons.get(m) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const loops = Array.from({ length: 4 }, loop);
  for (let kill = 1; kill <= 5; kill++) {
    await new Promise((r) => setTimeout(r, 1500));
    await control.kill();
    await new Promise((r) => setTimeout(r, 200 * kill));
    control = await ControlProcess.start(args);
  }
  await new Promise((r) => setTimeout(r, 3000));
  stop = true;
  await Promise.all(loops);
  t.diagnostic(`stock grpc-js-xds, 5 SIGKILLs: ${failed} failed of ${sent} calls`);
  assert.equal(failed, 0, JSON.stringify([...reasons]));
  assert.ok(sent > 500);
});
