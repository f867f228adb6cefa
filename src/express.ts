/**
 * `meshlet-node/express`: the mesh's inbound pipeline as Express middleware, for apps that are not
 * started with `mesh.listen()` (with mesh.listen it is harmless: each request runs the hooks once).
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createMesh } from 'meshlet-node';
 * import { meshExpress } from 'meshlet-node/express';
 * const mesh = await createMesh({ service: 'productpage' });
 * const app = express();
 * app.use(meshExpress(mesh));
 * app.get('/', (req, res) => res.json({ caller: req.mesh?.peer.identity ?? 'anonymous' }));
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResponseFlag } from './core/types.js';
import type { InboundPeer } from './http/pipeline.js';
import type { Mesh } from './mesh/types.js';

/** What the mesh tells a request handler: `req.mesh` (Express) / `request.mesh` (Fastify). */
export interface MeshRequestInfo {
  peer: InboundPeer;
  /** Response flags hooks added (e.g. `DC` when the caller went away). */
  flags: ResponseFlag[];
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by meshlet's inbound pipeline. */
      mesh?: MeshRequestInfo;
    }
  }
}

/** Express middleware signature, without importing express. */
export type MeshExpressMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * Express middleware running the mesh's inbound hooks (authz, telemetry…) and setting
 * `req.mesh = { peer, flags }`. A hook's denial answers the request; `next` is not called.
 *
 * @example
 * ```ts
 * app.use(meshExpress(mesh));
 * ```
 */
export function meshExpress(mesh: Mesh): MeshExpressMiddleware {
  return (req, res, next) => {
    mesh.inbound.handle(req, res, () => {
      const ctx = mesh.inbound.context(req);
      if (ctx) (req as IncomingMessage & { mesh?: MeshRequestInfo }).mesh = { peer: ctx.peer, flags: ctx.flags };
      next();
    });
  };
}
