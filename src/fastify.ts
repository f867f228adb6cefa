/**
 * `meshlet-node/fastify`: the mesh's inbound pipeline as a Fastify plugin (onRequest/onResponse
 * hooks, `request.mesh`). Closing the app does nothing global: `mesh.close()` is yours to call.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { createMesh } from 'meshlet-node';
 * import { meshletFastify } from 'meshlet-node/fastify';
 * const mesh = await createMesh({ service: 'reviews' });
 * const app = Fastify();
 * await app.register(meshletFastify, { mesh });
 * app.get('/reviews/:id', async (request) => ({ caller: request.mesh?.peer.address }));
 * await mesh.listen(app, { port: 9080 });
 * ```
 */
import type { FastifyPluginCallback } from 'fastify';
import type { MeshRequestInfo } from './express.js';
import type { Mesh } from './mesh/types.js';

export type { MeshRequestInfo } from './express.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by meshlet's inbound pipeline (null until its onRequest hook ran). */
    mesh: MeshRequestInfo | null;
  }
}

/** Options of {@link meshletFastify}. */
export interface MeshletFastifyOptions {
  mesh: Mesh;
}

const plugin: FastifyPluginCallback<MeshletFastifyOptions> = (app, opts, done) => {
  const { mesh } = opts;
  app.decorateRequest('mesh', null);
  app.addHook('onRequest', (request, reply, next) => {
    mesh.inbound.handle(
      request.raw,
      reply.raw,
      () => {
        const ctx = mesh.inbound.context(request.raw);
        if (ctx) request.mesh = { peer: ctx.peer, flags: ctx.flags };
        next();
      },
      (denial) => {
        void reply.code(denial.status).headers(denial.headers ?? {}).type('text/plain').send(denial.body ?? '');
      },
    );
  });
  app.addHook('onResponse', (request, _reply, next) => {
    mesh.inbound.finish(request.raw);
    next();
  });
  done();
};

/**
 * Fastify plugin: `app.register(meshletFastify, { mesh })`. Runs the mesh's inbound hooks in
 * `onRequest` (a denial is sent with `reply`), their onResponse side in `onResponse`, and
 * decorates `request.mesh = { peer, flags }`.
 *
 * @example
 * ```ts
 * await app.register(meshletFastify, { mesh });
 * ```
 */
export const meshletFastify: FastifyPluginCallback<MeshletFastifyOptions> = Object.assign(plugin, {
  // What fastify-plugin sets, without the dependency: Fastify reads these symbols itself
  // (fastify/lib/plugin-utils.js shouldSkipOverride, getMeta → checkVersion, getDisplayName).
  // skip-override puts the hooks and the decorator on the caller's instance, not a child scope.
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'meshlet',
  [Symbol.for('plugin-meta')]: { name: 'meshlet', fastify: '5.x' },
});
export default meshletFastify;
