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
