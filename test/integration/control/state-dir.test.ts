// The state dir of a real control server: a default for the memory store on a fixed port
// (memory with a snapshot), and a second server on a taken port never touches the first's state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseConfig } from '../../../src/config/index.js';
import { createControlServer } from '../../../src/control/index.js';
import { PersistentStore } from '../../../src/control/store/persistent.js';
import { isMeshError } from '../../../src/errors.js';
import { freePort } from './control-process.js';

const SE = parseConfig(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext }
spec:
  hosts: [ext.example.com]
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 10.0.0.1 }]
`, 'admin:ext.yaml').resources;

test('memory store on a fixed port: applied config is back after a restart (default state dir); port 0 keeps none', async () => {
  const port = await freePort();
  let server = await createControlServer({ xdsPort: port, adminPort: null });
  assert.ok(server.store instanceof PersistentStore, 'a fixed port gets a state dir');
  const stateDir = dirname(server.store.path);
  try {
    assert.ok(stateDir.startsWith(tmpdir()), stateDir);
    await server.store.apply(SE, 'admin:ext.yaml');
    await server.close();
    server = await createControlServer({ xdsPort: port, adminPort: null });
    assert.deepEqual(server.store.list().map((r) => r.metadata.name), ['ext']);
    assert.ok(server.services().some((s) => s.hostname === 'ext.example.com'), 'served in the first snapshot');
  } finally {
    await server.close();
    await rm(stateDir, { recursive: true, force: true });
  }
  const ephemeral = await createControlServer({ xdsPort: 0, adminPort: null });
  assert.equal(ephemeral.store instanceof PersistentStore, false, 'port 0: nothing to come back to');
  await ephemeral.close();
  const none = await createControlServer({ xdsPort: await freePort(), adminPort: null, stateDir: null });
  assert.equal(none.store instanceof PersistentStore, false, 'stateDir: null');
  await none.close();
});

test('a second server on a taken port fails without writing into the running server\'s state', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-state-'));
  const port = await freePort();
  const first = await createControlServer({ xdsPort: port, adminPort: null, stateDir: dir });
  try {
    await first.store.apply(SE, 'admin:ext.yaml');
    await new Promise((r) => setTimeout(r, 200)); // the coalesced writes land
    const before = await Promise.all(['announcements.json', 'applied.yaml'].map((f) => stat(join(dir, f))));
    await assert.rejects(createControlServer({ xdsPort: port, adminPort: null, stateDir: dir }), (err: unknown) => isMeshError(err, 'MESHLET_ERR_PORT_IN_USE'));
    const after = await Promise.all(['announcements.json', 'applied.yaml'].map((f) => stat(join(dir, f))));
    assert.deepEqual(after.map((s) => [s.ino, s.mtimeMs]), before.map((s) => [s.ino, s.mtimeMs]));
  } finally {
    await first.close();
    await rm(dir, { recursive: true, force: true });
  }
});
