// A freshly started mesh never answers `503 no healthy upstream` for a service whose endpoints
// are up (issue 9, item 1). Two things broke it: a route could be installed before the
// endpoints of its clusters arrived (now: Envoy's cluster warming in the xDS feed), and local
// replies were delivered in microtasks, so a caller doing `await request()` back to back never
// let the event loop read the EDS response (now: delivered like I/O, one per loop turn).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { parseConfig } from '../../../src/config/index.js';
import { createMesh } from '../../../src/mesh/create.js';

let control: ControlServer;
let backend: Server;
let decoy: Server;
let port = 0;

async function listen(body: string): Promise<Server> {
  const s = createServer((_req, res) => res.end(body));
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return s;
}

before(async () => {
  backend = await listen('routed');
  // What a request reaches while the mesh has no config yet: it passes through to the URL's
  // own address (localhost:port), which answers "direct" — never a 503.
  decoy = await listen('direct');
  port = (decoy.address() as AddressInfo).port;
  const backendPort = (backend.address() as AddressInfo).port;
  control = await createControlServer({ xdsPort: 0, adminPort: null, debounceMs: 5 });
  const { resources, diagnostics } = parseConfig(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: cold }
spec:
  hosts: [localhost]
  ports: [{ number: ${port}, name: http, protocol: HTTP }]
  resolution: STATIC
  location: MESH_INTERNAL
  endpoints: [{ address: 127.0.0.1, ports: { http: ${backendPort} }, labels: { version: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: cold }
spec:
  host: localhost
  subsets: [{ name: v1, labels: { version: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: cold }
spec:
  hosts: [localhost]
  http:
  - match: [{ uri: { prefix: /down } }]
    route: [{ destination: { host: nowhere.example.com } }]
  - route: [{ destination: { host: localhost, subset: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: nowhere }
spec:
  hosts: [nowhere.example.com]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  location: MESH_INTERNAL
`, 'cold.yaml');
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  await control.store.apply(resources);
});

after(async () => {
  await control.close();
  backend.close();
  decoy.close();
});

interface Run {
  uh: number;
  routed: number;
  calls: number;
}

/** A caller that never waits between requests: it only yields when the mesh does. */
async function backToBack(timeoutMs: number): Promise<Run> {
  const mesh = await createMesh({ controlPlane: `127.0.0.1:${control.xdsPort}`, initialFetchTimeoutMs: timeoutMs, xdsBackoff: { initialMs: 50, maxMs: 200 } });
  const run: Run = { uh: 0, routed: 0, calls: 0 };
  try {
    while (run.calls < 3000 && run.routed < 20) {
      run.calls++;
      const res = await request(`http://localhost:${port}/x`, { dispatcher: mesh.dispatcher });
      const body = await res.body.text();
      if (res.statusCode === 503) run.uh++;
      else if (body === 'routed') run.routed++;
    }
  } finally {
    await mesh.close();
  }
  return run;
}

test('60 fresh meshes (6 rounds of 10 at once) with back-to-back callers never see 503 UH and all converge', async () => {
  const runs: Run[] = [];
  for (let round = 0; round < 6; round++) {
    // Short and zero initial fetch timeouts put the callers inside every phase of the
    // start-up: no config yet, listeners and routes without endpoints, everything.
    const timeouts = Array.from({ length: 10 }, (_, i) => (i % 5) * 5);
    runs.push(...(await Promise.all(timeouts.map(backToBack))));
  }
  assert.equal(runs.length, 60);
  assert.deepEqual(runs.filter((r) => r.uh > 0), [], 'no caller saw 503 UH');
  assert.deepEqual(runs.filter((r) => r.routed < 20), [], 'every mesh converged to the routed backend');
});

test('a 10 ms timer fires on time during 2,000 back-to-back local replies', async () => {
  const mesh = await createMesh({ controlPlane: `127.0.0.1:${control.xdsPort}` });
  try {
    let done = 0;
    let firedAfter = -1;
    const t0 = performance.now();
    let lateMs = -1;
    setTimeout(() => {
      firedAfter = done;
      lateMs = performance.now() - t0 - 10;
    }, 10);
    for (; done < 2000; done++) {
      const res = await request(`http://localhost:${port}/down`, { dispatcher: mesh.dispatcher });
      await res.body.text();
      assert.equal(res.statusCode, 503);
      assert.equal(res.headers['x-meshlet-response-flags'], 'UH');
    }
    const loopMs = performance.now() - t0;
    assert.ok(loopMs > 10, `the loop took ${loopMs.toFixed(1)} ms, too short to tell`);
    assert.ok(firedAfter >= 0 && firedAfter < 2000, `the timer fired while the replies were running (after ${firedAfter} of 2000; ${lateMs.toFixed(1)} ms late, loop ${loopMs.toFixed(0)} ms)`);
  } finally {
    await mesh.close();
  }
});
