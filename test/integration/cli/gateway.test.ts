// `meshlet gateway` as a process: joins a control server, serves bookinfo-gateway.yaml on the
// mapped port, and on SIGTERM drains and exits 0.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { parseLabels, parsePorts } from '../../../src/cli/commands/gateway.js';
import { isMeshError } from '../../../src/errors.js';
import { MeshFixture } from '../../helpers/http-mesh.js';
import { waitFor } from '../../helpers/wait.js';

const BIN = fileURLToPath(new URL('../../../bin/meshlet.js', import.meta.url));
const BOOKINFO = readFileSync(new URL('../../../../shared/istio-samples/bookinfo/bookinfo-gateway.yaml', import.meta.url), 'utf8');

let fx: MeshFixture;
let child: ChildProcess | undefined;

before(async () => {
  fx = await MeshFixture.start('');
  await fx.serve('productpage', { app: 'productpage', version: 'v1' });
  await fx.apply(BOOKINFO);
});

after(async () => {
  child?.kill('SIGKILL');
  await fx?.close();
});

test('flags: --labels and --port parse, bad values are usage errors', () => {
  assert.deepEqual(parseLabels(['istio=ingressgateway,app=edge', 'tier=']), { istio: 'ingressgateway', app: 'edge', tier: '' });
  assert.deepEqual(parsePorts(['80=8080', '443=0']), { 80: 8080, 443: 0 });
  for (const bad of [() => parseLabels(['nolabel']), () => parsePorts(['80']), () => parsePorts(['0=1']), () => parsePorts(['80=70000'])]) {
    assert.throws(bad, (e: unknown) => isMeshError(e) && e.code === 'MESHLET_ERR_USAGE');
  }
});

test('meshlet gateway serves /productpage on the mapped port (HTTP/1.1 and h2c) and drains on SIGTERM (GOAWAY to HTTP/2 clients)', async () => {
  child = spawn(process.execPath, [BIN, 'gateway', '--control-plane', `127.0.0.1:${fx.server.xdsPort}`, '--port', '80=0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c));
  const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
  const port = Number(await waitFor(() => /ports 80→(\d+)/.exec(stdout)?.[1], 30_000, 'the gateway to print its ports'));
  await waitFor(async () => (await request(`http://127.0.0.1:${port}/productpage`)).statusCode === 200, 10_000, '/productpage through meshlet gateway');
  const res = await request(`http://127.0.0.1:${port}/productpage`);
  assert.equal(await res.body.text(), 'productpage-v1');
  // The same port speaks h2c with prior knowledge (Envoy's codec AUTO); productpage itself is HTTP/1.1.
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const s = session.request({ ':path': '/productpage', ':authority': 'bookinfo.example' });
    let status = 0;
    let body = '';
    s.setEncoding('utf8');
    s.on('response', (h) => (status = Number(h[':status'])));
    s.on('data', (c: string) => (body += c));
    s.on('end', () => resolve({ status, body }));
    s.on('error', reject);
    s.end();
  });
  assert.deepEqual(answer, { status: 200, body: 'productpage-v1' });
  const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
  assert.equal(await exited, 0);
  session.destroy();
  assert.match(stdout, /draining/);
});
