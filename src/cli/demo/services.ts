import type { IncomingMessage, ServerResponse } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { meshExpress } from '../../express.js';
import { meshletFastify } from '../../fastify.js';
import type { Mesh } from '../../mesh/types.js';
import { ECHO_SERVICE, type EchoReply } from '../../testing/echo.js';
import { optionalImport } from './optional.js';

/** Service port every demo service is reached on, as in bookinfo. */
export const SERVICE_PORT = 9080;

/** A JSON handler on plain node:http, for when the framework is not installed. */
function plainJson(prefix: string, body: (id: string) => object) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '';
    const id = url.startsWith(prefix) ? url.slice(prefix.length) : undefined;
    res.writeHead(id ? 200 : 404, { 'content-type': 'application/json' }).end(id ? JSON.stringify(body(id)) : '{}');
  };
}

const details = (id: string) => ({ id, from: 'details-v1', author: 'William Shakespeare', year: 1595 });
const ratings = (id: string) => ({ id, from: 'ratings-v1', stars: 5 });

/** details v1: an Express app served through the mesh (node:http when express is not installed). Returns what serves it. */
export async function startDetails(mesh: Mesh): Promise<string> {
  const express = (await optionalImport(() => import('express')))?.default;
  if (!express) {
    await mesh.listen(plainJson('/details/', details), { port: 0, servicePort: SERVICE_PORT });
    return 'node:http';
  }
  const app = express();
  app.use(meshExpress(mesh));
  app.get('/details/:id', (req, res) => { res.json(details(req.params.id)); });
  await mesh.listen(app, { port: 0, servicePort: SERVICE_PORT });
  return 'Express';
}

/** ratings v1: a Fastify instance with the meshlet plugin (node:http when fastify is not installed). */
export async function startRatings(mesh: Mesh): Promise<string> {
  const Fastify = (await optionalImport(() => import('fastify')))?.default;
  if (!Fastify) {
    await mesh.listen(plainJson('/ratings/', ratings), { port: 0, servicePort: SERVICE_PORT });
    return 'node:http';
  }
  const app = Fastify();
  await app.register(meshletFastify, { mesh });
  app.get('/ratings/:id', async (request) => ratings((request.params as { id: string }).id));
  await mesh.listen(app, { port: 0, servicePort: SERVICE_PORT });
  return 'Fastify';
}

/** reviews vN: a grpc-js server announced through mesh.grpc. */
export async function startReviews(mesh: Mesh, version: string): Promise<void> {
  const server = mesh.grpc.createServer({ servicePort: SERVICE_PORT, drainTimeoutMs: 500 });
  server.server.addService(ECHO_SERVICE, {
    Call: (call: grpc.ServerUnaryCall<unknown, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      callback(null, { from: `reviews-${version}`, metadata: {} });
    },
  });
  await server.bind('127.0.0.1:0');
}

/**
 * productpage v1: the page the ingress gateway routes `/productpage` to (Istio's
 * bookinfo-gateway.yaml): it calls details and ratings over HTTP and reviews over gRPC through its
 * own mesh, forwarding the caller's `end-user` header (bookinfo's jason login) to reviews.
 */
export async function startProductpage(mesh: Mesh, reviews: grpc.Client, call: (client: grpc.Client, md?: Record<string, string>) => Promise<string>): Promise<void> {
  const fetchJson = async (url: string): Promise<string> => {
    const res = await mesh.fetch(url);
    const body = (await res.json().catch(() => undefined)) as { from?: string } | undefined;
    return res.ok && body?.from ? body.from : `HTTP ${res.status}`;
  };
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path !== '/productpage' && !path.startsWith('/api/v1/products')) {
      res.writeHead(path === '/login' || path === '/logout' || path.startsWith('/static') ? 200 : 404, { 'content-type': 'text/plain' }).end(`${path}\n`);
      return;
    }
    const user = req.headers['end-user'];
    const [details, reviewsBy, ratings] = await Promise.all([
      fetchJson('http://details:9080/details/0'),
      call(reviews, typeof user === 'string' ? { 'end-user': user } : undefined),
      fetchJson('http://ratings:9080/ratings/0'),
    ]);
    const page = { from: 'productpage-v1', details, reviews: reviewsBy, ratings };
    if (path.startsWith('/api/v1/products')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([page]));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-served-by': 'productpage-v1' })
      .end(`<!doctype html><title>Bookinfo</title><h1>The Comedy of Errors</h1><p>details: ${details}</p><p>reviews: ${reviewsBy}</p><p>ratings: ${ratings}</p>\n`);
  };
  await mesh.listen((req, res) => {
    handler(req, res).catch(() => { if (!res.headersSent) res.writeHead(500).end(); else res.destroy(); });
  }, { port: 0, servicePort: SERVICE_PORT });
}
