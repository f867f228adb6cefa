// mesh.observe(): a CallObserver sees start, each attempt, each attempt's end and the end of an
// HTTP call that retried, with route, cluster, endpoint (and its labels), status and flags.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Mesh } from '../../../src/mesh/types.js';
import type { RequestRecord } from '../../../src/telemetry/record.js';
import { reply } from '../../helpers/http-backends.js';
import { MeshFixture, type Served } from '../../helpers/http-mesh.js';
import { observerLog } from '../../helpers/observer-log.js';

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: obs }
spec:
  hosts: [obs]
  http:
  - name: primary
    route: [{ destination: { host: obs, subset: v1 } }]
    retries: { attempts: 2, retryOn: 5xx }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: obs }
spec:
  host: obs
  subsets: [{ name: v1, labels: { version: v1 } }]
`;

let fx: MeshFixture;
let client: Mesh;
let backend: Served;
let answers: number[] = [];

before(async () => {
  fx = await MeshFixture.start(CONFIG);
  backend = await fx.serve('obs', { version: 'v1' }, { behaviour: (_h, res) => reply(res, answers.shift() ?? 200, 'obs-body') });
  client = await fx.mesh({ service: 'productpage' });
  await fx.waitForEndpoints(client, 'obs', 1);
});

after(async () => {
  await fx?.close();
});

async function get(path: string): Promise<number> {
  const res = await request(`http://obs:9080${path}`, { dispatcher: client.dispatcher });
  await res.body.text();
  return res.statusCode;
}

test('an observer sees onStart, onAttempt, onAttemptEnd (twice: a retry) and onEnd in order', async () => {
  const log = observerLog();
  const sub = client.observe(log.observer);
  answers = [503, 200];
  assert.equal(await get('/retried'), 200);
  sub.dispose();
  const ep = `127.0.0.1:${backend.handle.port}`;
  assert.deepEqual(log.calls, [[
    'start http GET obs/retried',
    `attempt 1 ${ep}`, `attemptEnd 1 ${ep} response 503`,
    `attempt 2 ${ep}`, `attemptEnd 2 ${ep} response 200`,
    'end 200',
  ]]);
  const end = log.ends[0]!;
  assert.equal(end.protocol, 'http');
  assert.equal(end.route, 'primary');
  assert.equal(end.cluster, 'outbound|9080|v1|obs.default.svc.cluster.local');
  assert.equal(end.subset, 'v1');
  assert.equal(end.endpoint, ep);
  assert.equal(end.labels?.['version'], 'v1');
  assert.deepEqual(end.flags, []);
  assert.equal(end.attempts, 2);
  assert.equal(end.responseBytes, 'obs-body'.length);
  assert.ok(end.durationMs > 0);
});

test('retries exhausted: the end carries the 503 and URX; disposed observers see nothing more', async () => {
  const log = observerLog();
  const sub = client.observe(log.observer);
  answers = [503, 503, 503]; // attempts: 2 are retries, after the first try
  assert.equal(await get('/exhausted'), 503);
  sub.dispose();
  assert.equal(await get('/unobserved'), 200);
  assert.equal(log.calls.length, 1);
  assert.deepEqual(log.calls[0]!.map((l) => l.split(' ')[0]), ['start', 'attempt', 'attemptEnd', 'attempt', 'attemptEnd', 'attempt', 'attemptEnd', 'end']);
  assert.equal(log.ends[0]!.status, 503);
  assert.deepEqual(log.ends[0]!.flags, ['URX']);
});

test("mesh.on('request') is one observer among others: both see the call", async () => {
  const log = observerLog();
  const records: RequestRecord[] = [];
  const sub = client.observe(log.observer);
  const rec = client.on('request', (r) => records.push(r));
  answers = [503, 200];
  assert.equal(await get('/both'), 200);
  sub.dispose();
  rec.dispose();
  assert.equal(log.calls.length, 1);
  assert.equal(records.length, 1);
  assert.equal(records[0]!.path, '/both');
  assert.equal(records[0]!.attempts, 2);
  assert.equal(records[0]!.clusterName, 'outbound|9080|v1|obs.default.svc.cluster.local');
  assert.equal(records[0]!.endpoint, log.ends[0]!.endpoint);
});

test('an observer that throws does not break the call', async () => {
  const sub = client.observe({ onStart: () => { throw new Error('boom'); }, onEnd: () => { throw new Error('boom'); } });
  answers = [200];
  assert.equal(await get('/throwing'), 200);
  sub.dispose();
});
