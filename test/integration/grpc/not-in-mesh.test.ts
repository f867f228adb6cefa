// A mesh:/// gRPC target the mesh does not know (issue 9 item 8): HTTP passes such a host
// through, a mesh:/// channel cannot, so the call fails UNAVAILABLE with a message that says
// what to do, and the process gets one coded warning per host.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { GrpcFixture, failure, startBackend, unary, type Backend } from './fixture.js';

let fx: GrpcFixture;
let backend: Backend;

before(async () => {
  backend = await startBackend('outside');
  fx = await GrpcFixture.start();
});

after(async () => {
  await fx?.close();
  await backend?.close();
});

test('mesh:///127.0.0.1:port outside the mesh: UNAVAILABLE that says so, one MESHLET_ERR_UNKNOWN_HOST warning', async () => {
  const warnings: Array<Error & { code?: string }> = [];
  const onWarning = (w: Error & { code?: string }): void => {
    if (w.name === 'MeshletWarning') warnings.push(w);
  };
  process.on('warning', onWarning);
  try {
    const { grpc: g } = await fx.mesh({ service: 'caller' });
    const client = fx.client(g, `127.0.0.1:${backend.port}`);
    for (let i = 0; i < 3; i++) {
      const err = await failure(unary(client));
      assert.equal(err.code, grpc.status.UNAVAILABLE);
      assert.match(err.details, /not in the mesh: 127\.0\.0\.1 \(dial it without mesh:\/\/\/, or add a ServiceEntry\)/);
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(warnings.length, 1, 'warned once for the host');
    assert.equal(warnings[0]?.code, 'MESHLET_ERR_UNKNOWN_HOST');
    assert.equal(backend.calls, 0);
  } finally {
    process.off('warning', onWarning);
  }
});
