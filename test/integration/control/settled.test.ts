// server.settled(): after a change, it resolves only once every connected mesh holds what the
// change produced (no sleeps), and rejects with a coded error when a client never answers.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshFixture } from '../../helpers/http-mesh.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { parseConfig } from '../../../src/config/index.js';

const entry = (name: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name} }
spec:
  hosts: [${name}.example.com]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
`;

describe('control server settled()', () => {
  let fx: MeshFixture;
  after(async () => fx?.close());

  test('resolves once every mesh has the change', async () => {
    fx = await MeshFixture.start('');
    const meshes = await Promise.all([fx.mesh({ service: 'a' }), fx.mesh({ service: 'b' }), fx.mesh({ service: 'c' })]);
    for (let i = 0; i < 5; i++) {
      await fx.server.store.apply(parseConfig(entry(`svc${i}`), 'x.yaml').resources);
      await fx.server.settled();
      for (const m of meshes) assert.ok([...m.xds.all(TYPE_URL.cluster).keys()].some((n) => n.endsWith(`|svc${i}.example.com`)), `mesh has svc${i} right after settled()`);
    }
  });

  test('rejects with a coded MESHLET_ERR_TIMEOUT when its deadline passes first', async () => {
    const server = fx.server as unknown as { settled(ms: number): Promise<void> };
    // settled() needs two quiet checks in a row, so a 0 ms deadline always passes first.
    await fx.server.store.apply(parseConfig(entry('late'), 'x.yaml').resources);
    await assert.rejects(server.settled(0), (err: Error & { code?: string }) => err.code === 'MESHLET_ERR_TIMEOUT');
    await fx.server.settled();
  });
});
