// Issue 11: route timeouts beyond Node's 2^31-1 ms timer limit (`timeout: 600h`) must mean "a long
// time", not "1 ms": the call waits for the backend and Node never warns of a timer overflow.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Mesh } from '../../../src/mesh/types.js';
import { reply } from '../../helpers/http-backends.js';
import { MeshFixture } from '../../helpers/http-mesh.js';

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: slow }
spec:
  hosts: [slow]
  http:
  - timeout: 600h
    retries: { attempts: 2, perTryTimeout: 700h }
    route: [{ destination: { host: slow } }]
`;

let fx: MeshFixture;
let client: Mesh;
const warnings: string[] = [];
const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);

before(async () => {
  process.on('warning', onWarning);
  fx = await MeshFixture.start(CONFIG);
  await fx.serve('slow', {}, { behaviour: (_hit, res) => void setTimeout(() => reply(res, 200, 'late'), 150) });
  client = await fx.mesh({ service: 'caller' });
  await fx.waitForEndpoints(client, 'slow', 1);
});

after(async () => {
  process.off('warning', onWarning);
  await fx?.close();
});

test('a 600h route timeout waits for a 150 ms backend and arms no overflowing timer', async () => {
  for (let i = 0; i < 5; i++) {
    const res = await request('http://slow:9080/', { dispatcher: client.dispatcher });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'late');
  }
  assert.deepEqual(warnings.filter((w) => w.startsWith('TimeoutOverflowWarning')), []);
});
