import * as grpc from '@grpc/grpc-js';
import express from 'express';
import Fastify from 'fastify';
import { meshExpress } from '../../express.js';
import { meshletFastify } from '../../fastify.js';
import type { Mesh } from '../../mesh/types.js';
import { ECHO_SERVICE, type EchoReply } from '../../testing/echo.js';

/** Service port every demo service is reached on, as in bookinfo. */
export const SERVICE_PORT = 9080;

/** details v1: an Express app served through the mesh (registers itself with the control server). */
export async function startDetails(mesh: Mesh): Promise<void> {
  const app = express();
  app.use(meshExpress(mesh));
  app.get('/details/:id', (req, res) => {
    res.json({ id: req.params.id, from: 'details-v1', author: 'William Shakespeare', year: 1595 });
  });
  await mesh.listen(app, { port: 0, servicePort: SERVICE_PORT });
}

/** ratings v1: a Fastify instance with the meshlet plugin. */
export async function startRatings(mesh: Mesh): Promise<void> {
  const app = Fastify();
  await app.register(meshletFastify, { mesh });
  app.get('/ratings/:id', async (request) => ({ id: (request.params as { id: string }).id, from: 'ratings-v1', stars: 5 }));
  await mesh.listen(app, { port: 0, servicePort: SERVICE_PORT });
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
