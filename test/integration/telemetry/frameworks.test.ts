// The handler's scope in Express (express.json body parser) and Fastify (JSON content parser)
// handlers, and in a bare node:http handler that reads its body through 'data'/'end' events
// arriving after the handler ran (the request's listeners are bound to the scope: without that,
// the third case starts a new trace); an app span started inside a
// handler becomes the parent of the handler's calls (an SDK context manager registered); a
// retried call's attempts are child spans of its client span.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import http from 'node:http';
import { EventEmitter } from 'node:events';
import express from 'express';
import Fastify from 'fastify';
import { MeshFixture, waitFor } from '../../helpers/http-mesh.js';
import { meshExpress } from '../../../src/express.js';
import { meshletFastify } from '../../../src/fastify.js';
import type { Mesh } from '../../../src/mesh/types.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager().enable();
let fixture: MeshFixture;
let caller: Mesh;
let flaky = 0;
const ports = { reviews: 0, details: 0, productpage: 0 };
const arrived = new EventEmitter();
const cleanup: Array<() => Promise<unknown>> = [];

before(async () => {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(contextManager);
  fixture = await MeshFixture.start(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - route: [{ destination: { host: ratings } }]
    retries: { attempts: 2, retryOn: 5xx }
`);
  // ratings: fails every other request with 503 when asked to.
  const ratings = await fixture.mesh({ service: 'ratings', labels: { app: 'ratings' } });
  await ratings.listen((req, res) => {
    if (req.url === '/flaky' && flaky++ % 2 === 0) { res.statusCode = 503; return res.end('busy'); }
    res.end('ratings');
  }, { port: 0, servicePort: 9080 });
  // reviews (Express, JSON body) and details (Fastify, JSON body) both call ratings.
  const reviews = await fixture.mesh({ service: 'reviews', labels: { app: 'reviews' } });
  const app = express();
  app.use(meshExpress(reviews));
  app.use((req, _res, next) => { arrived.emit(req.url); next(); });
  app.use(express.json());
  app.post('/reviews', async (req, res) => {
    const r = await reviews.fetch(`http://ratings:9080/${(req.body as { path?: string }).path ?? ''}`);
    res.send(`reviews+${await r.text()}`);
  });
  app.get('/app-span', (_req, res) => {
    void trace.getTracer('app').startActiveSpan('app-work', async (span) => {
      const r = await reviews.fetch('http://ratings:9080/');
      span.end();
      res.send(`app+${await r.text()}`);
    });
  });
  ports.reviews = (await reviews.listen(app, { port: 0, servicePort: 9080 })).port;
  const details = await fixture.mesh({ service: 'details', labels: { app: 'details' } });
  const f = Fastify();
  await f.register(meshletFastify, { mesh: details });
  f.addHook('onRequest', (request, _reply, done) => { arrived.emit(request.url); done(); });
  f.post('/details', async (request) => {
    const r = await details.fetch(`http://ratings:9080/${(request.body as { path?: string }).path ?? ''}`);
    return `details+${await r.text()}`;
  });
  ports.details = (await details.listen(f, { port: 0, servicePort: 9080 })).port;
  cleanup.push(() => f.close());
  // productpage: a bare node:http handler that reads its body through 'data'/'end' events.
  const productpage = await fixture.mesh({ service: 'productpage', labels: { app: 'productpage' } });
  ports.productpage = (await productpage.listen((req, res) => {
    arrived.emit(req.url ?? "");
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      void productpage.fetch(`http://ratings:9080/${(JSON.parse(body) as { path: string }).path}`).then(async (r) => res.end(`productpage+${await r.text()}`));
    });
  }, { port: 0, servicePort: 9080 })).port;
  caller = await fixture.mesh({ service: 'caller' });
  for (const host of ['reviews', 'details', 'productpage']) {
    await waitFor(async () => (await post(`http://${host}:9080/${host}`, {}).catch(() => '')) === `${host}+ratings`, 8000, `${host} answers`);
  }
});

after(async () => {
  for (const c of cleanup) await c();
  await fixture?.close();
  trace.disable();
  context.disable();
});

async function post(url: string, body: unknown): Promise<string> {
  const r = await caller.fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return r.text();
}

/** A JSON body whose second half is written later (straight to the server: the mesh client would buffer a retryable body), so the parser reads it from a socket event, not from the handler's own tick. */
function postInTwoParts(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.write('{"path":');
    // The rest only once the app saw the request start: the parser must wait for it.
    arrived.once(path, () => req.end('""}'));
  });
}

function server(spans: ReadableSpan[], prefix: string): ReadableSpan {
  const s = spans.find((x) => x.kind === 1 && x.name.startsWith(prefix));
  assert.ok(s, `a server span ${prefix} in ${spans.map((x) => x.name).join(', ')}`);
  return s;
}

for (const host of ['reviews', 'details', 'productpage'] as const) {
  test(`${host === 'reviews' ? 'Express' : host === 'details' ? 'Fastify' : 'node:http reading req events'}: a handler after the body parser continues its request's trace`, async () => {
    exporter.reset();
    assert.equal(await postInTwoParts(ports[host], `/${host}`), `${host}+ratings`);
    await waitFor(() => exporter.getFinishedSpans().filter((s) => s.kind === 1).length >= 2, 5000, 'two server spans');
    const spans = exporter.getFinishedSpans();
    const inbound = server(spans, `${host}.`);
    const out = spans.find((s) => s.kind === 2 && s.name.startsWith('ratings.'))!;
    assert.equal(out.parentSpanContext?.spanId, inbound.spanContext().spanId, 'the call inside the handler is a child of its server span');
    assert.equal(server(spans, 'ratings.').parentSpanContext?.spanId, out.spanContext().spanId);
  });
}

test('an app span started in the handler is the parent of the handler’s calls', async () => {
  exporter.reset();
  const r = await caller.fetch('http://reviews:9080/app-span');
  assert.equal(await r.text(), 'app+ratings');
  await waitFor(() => exporter.getFinishedSpans().some((s) => s.name === 'app-work') && exporter.getFinishedSpans().filter((s) => s.kind === 1).length >= 2, 5000, 'spans');
  const spans = exporter.getFinishedSpans();
  const appSpan = spans.find((s) => s.name === 'app-work')!;
  assert.equal(appSpan.parentSpanContext?.spanId, server(spans, 'reviews.').spanContext().spanId);
  const out = spans.find((s) => s.kind === 2 && s.name === 'ratings.default.svc.cluster.local:9080/*')!;
  assert.equal(out.parentSpanContext?.spanId, appSpan.spanContext().spanId);
});

test('a retried call: each attempt is a child span of the client span, the failed one marked an error', async () => {
  flaky = 0;
  exporter.reset();
  assert.equal(await post('http://reviews:9080/reviews', { path: 'flaky' }), 'reviews+ratings');
  await waitFor(() => exporter.getFinishedSpans().filter((s) => s.name.includes('attempt')).length === 2 && exporter.getFinishedSpans().filter((s) => s.name.startsWith('ratings.') && s.kind === 1).length === 2, 5000, 'two attempt spans, two ratings server spans');
  const spans = exporter.getFinishedSpans();
  const call = spans.find((s) => s.kind === 2 && s.name === 'ratings.default.svc.cluster.local:9080/*')!;
  const attempts = spans.filter((s) => s.name.includes('attempt')).sort((a, b) => Number(a.attributes['retry.attempt']) - Number(b.attributes['retry.attempt']));
  assert.deepEqual(attempts.map((a) => [a.name, a.parentSpanContext?.spanId, a.attributes['http.status_code']]), [
    ['ratings.default.svc.cluster.local:9080/* attempt 1', call.spanContext().spanId, 503],
    ['ratings.default.svc.cluster.local:9080/* attempt 2', call.spanContext().spanId, 200],
  ]);
  assert.equal(attempts[0]!.status.code, 2, 'the 503 attempt is an error');
  assert.equal(call.attributes['http.status_code'], 200);
});
