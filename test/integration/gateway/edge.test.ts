// The gateway as a public edge: HTTP/1.1 smuggling shapes are refused before anything reaches a
// backend, header size and count limits, slowloris timeouts, the connection limit, no stack
// traces in error answers, and a graceful drain on close().
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { request } from 'undici';
import { createGateway, type Gateway } from '../../../src/gateway/index.js';
import { MeshFixture, type Served } from '../../helpers/http-mesh.js';
import { waitFor } from '../../helpers/wait.js';

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: ['*']
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge }
spec:
  hosts: ['*']
  gateways: [edge]
  http:
  - route: [{ destination: { host: productpage, port: { number: 9080 } } }]
`;

let fx: MeshFixture;
let productpage: Served;
let gw: Gateway;
let port: number;
/** Resolves the held request of the drain test. */
let release: (() => void) | undefined;
let held: (() => void) | undefined;

before(async () => {
  fx = await MeshFixture.start('');
  productpage = await fx.serve('productpage', { app: 'productpage' }, {
    behaviour: (hit, res) => {
      if (hit.url !== '/slow') return void res.end('ok');
      held?.();
      return new Promise<void>((resolve) => (release = () => { res.end('finished'); resolve(); }));
    },
  });
  await fx.apply(CONFIG);
  gw = await createGateway({
    controlPlane: `127.0.0.1:${fx.server.xdsPort}`, host: '127.0.0.1', ports: { 80: 0 }, initialFetchTimeoutMs: 3000,
    limits: { headersTimeoutMs: 300, requestTimeoutMs: 600, maxConnections: 8 },
  });
  port = await waitFor(() => gw.ports[80], 5000, 'port bound');
  await waitFor(async () => (await request(`http://127.0.0.1:${port}/`)).statusCode === 200, 5000, 'route warm');
});

after(async () => {
  release?.();
  await gw?.close();
  await fx?.close();
});

/** Writes raw bytes and collects everything until the server closes the connection. */
function raw(data: string, opts: { end?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(data);
      if (opts.end) s.end();
    });
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString('latin1')));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

test('Content-Length with Transfer-Encoding is 400 and reaches no backend (CL.TE / TE.CL smuggling)', async () => {
  const before = productpage.hits.length;
  const res = await raw('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(statusOf(res), 400);
  assert.equal(productpage.hits.length, before);
});

test('other framing ambiguities are 400: differing Content-Lengths, a Transfer-Encoding not ending in chunked, space before the colon', async () => {
  const before = productpage.hits.length;
  const cases = [
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy',
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 2\r\n\r\nxy',
    'GET / HTTP/1.1\r\nHost: a\r\n folded: value\r\n\r\n',
  ];
  for (const c of cases) assert.equal(statusOf(await raw(c)), 400, JSON.stringify(c));
  assert.equal(productpage.hits.length, before);
});

test('absolute-form requests and a missing Host are 400 with a fixed body (no stack, no echo)', async () => {
  const absolute = await raw('GET http://evil.example/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(absolute), 400);
  assert.match(absolute, /\r\n\r\nBad Request$/);
  assert.equal(statusOf(await raw('GET / HTTP/1.1\r\nConnection: close\r\n\r\n')), 400);
  const badHost = await raw('GET / HTTP/1.1\r\nHost: a b<script>\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(badHost), 400);
  assert.doesNotMatch(badHost, /script|at \w+ \(/);
});

test('header limits: over 60 KiB of headers or over 100 headers is 431', async () => {
  const big = await raw(`GET / HTTP/1.1\r\nHost: a\r\nx-big: ${'a'.repeat(61 * 1024)}\r\n\r\n`);
  assert.equal(statusOf(big), 431);
  const many = Array.from({ length: 101 }, (_, i) => `x-h${i}: v\r\n`).join('');
  assert.equal(statusOf(await raw(`GET / HTTP/1.1\r\nHost: a\r\n${many}Connection: close\r\n\r\n`)), 431);
  const ok = Array.from({ length: 90 }, (_, i) => `x-h${i}: v\r\n`).join('');
  assert.equal(statusOf(await raw(`GET / HTTP/1.1\r\nHost: a\r\n${ok}Connection: close\r\n\r\n`)), 200);
});

test('slowloris: a client that never finishes its headers is answered 408 and disconnected', async () => {
  const res = await raw('GET / HTTP/1.1\r\nHost: a\r\nx-slow: ');
  assert.equal(statusOf(res), 408);
});

test('connection limit: past maxConnections new connections are closed unanswered', async () => {
  const open: Socket[] = [];
  const outcomes: string[] = [];
  try {
    // Nine attempts against a limit of eight (another client's idle keep-alive connection may hold one).
    for (let i = 0; i < 9; i++) {
      const s = connect(port, '127.0.0.1');
      open.push(s);
      outcomes.push(await new Promise<string>((resolve) => {
        s.once('data', () => resolve('answered'));
        s.once('close', () => resolve('refused'));
        s.once('error', () => resolve('refused'));
        s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      }));
    }
  } finally {
    for (const s of open) s.destroy();
  }
  assert.ok(outcomes.filter((o) => o === 'answered').length <= 8, outcomes.join());
  assert.equal(outcomes.at(-1), 'refused', outcomes.join());
});

test('close() drains: the request in flight finishes, the port stops accepting', async () => {
  const entered = new Promise<void>((resolve) => (held = resolve));
  const inflight = request(`http://127.0.0.1:${port}/slow`);
  await entered;
  const closing = gw.close();
  await waitFor(async () => {
    try {
      await request(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
      return false;
    } catch {
      return true;
    }
  }, 5000, 'the port to stop accepting');
  release!();
  const res = await inflight;
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'finished');
  await closing;
});
