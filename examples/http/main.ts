/**
 * The HTTP data plane in one process: productpage (Express) → reviews v1 (Express) and
 * reviews v2 (Fastify), each its own mesh, registered with the control server by mesh.listen().
 *
 *   node --import tsx examples/http/main.ts               # starts its own control server
 *   npx meshlet control --config examples/http/config     # or use a separate one:
 *   MESHLET_CONTROL_PLANE=127.0.0.1:15010 node --import tsx examples/http/main.ts
 *
 * Flags: --requests N (default 20), --serve (keep running; productpage on PORT, default 9080).
 */
import { fileURLToPath } from 'node:url';
import express from 'express';
import Fastify from 'fastify';
import { createControlServer, type ControlServer } from 'meshlet-node/control';
import { createMesh, type Mesh } from 'meshlet-node';
import { meshExpress } from 'meshlet-node/express';
import { meshletFastify } from 'meshlet-node/fastify';

const args = process.argv.slice(2);
const requests = Number(args[args.indexOf('--requests') + 1]) || 20;
const serve = args.includes('--serve');

async function main(): Promise<void> {
  let control: ControlServer | undefined;
  let controlPlane = process.env['MESHLET_CONTROL_PLANE'];
  if (!controlPlane) {
    const configDir = fileURLToPath(new URL('./config', import.meta.url));
    control = await createControlServer({ configDir, xdsPort: 0, adminPort: null });
    controlPlane = `127.0.0.1:${control.xdsPort}`;
  }
  const meshes: Mesh[] = [];
  const mesh = async (service: string, version: string): Promise<Mesh> => {
    const m = await createMesh({ controlPlane, service, labels: { app: service, version } });
    meshes.push(m);
    return m;
  };

  // reviews v1: Express, behind the meshlet middleware (req.mesh tells who called).
  const v1 = await mesh('reviews', 'v1');
  const reviewsV1 = express();
  reviewsV1.use(meshExpress(v1));
  reviewsV1.get('/reviews/:id', (req, res) => {
    res.json({ id: req.params.id, version: 'v1', stars: null, caller: req.mesh?.peer.address });
  });
  await v1.listen(reviewsV1, { port: 0, servicePort: 9080 });

  // reviews v2: Fastify with the meshlet plugin.
  const v2 = await mesh('reviews', 'v2');
  const reviewsV2 = Fastify();
  await reviewsV2.register(meshletFastify, { mesh: v2 });
  reviewsV2.get('/reviews/:id', async (request) => ({ id: (request.params as { id: string }).id, version: 'v2', stars: 4, caller: request.mesh?.peer.address }));
  await v2.listen(reviewsV2, { port: 0, servicePort: 9080 });

  // productpage: calls reviews by name through its mesh; forwards end-user for header routing.
  const pp = await mesh('productpage', 'v1');
  const productpage = express();
  productpage.get('/productpage', async (req, res) => {
    const user = req.header('end-user');
    const r = await pp.fetch('http://reviews:9080/reviews/1', { headers: user ? { 'end-user': user } : {} });
    res.status(r.status).json({ reviews: await r.json().catch(() => null), flags: r.headers.get('x-meshlet-response-flags') ?? '' });
  });
  const page = await pp.listen(productpage, { port: serve ? Number(process.env['PORT'] ?? 9080) : 0, servicePort: 9080 });
  pp.on('request', (r) => {
    if (r.flags.length > 0) process.stdout.write(`  ${r.method} ${r.host}${r.path} → ${r.status} [${r.flags.join(',')}]\n`);
  });
  await new Promise((resolve) => setTimeout(resolve, 300)); // let every mesh see both reviews endpoints

  const url = `http://127.0.0.1:${page.port}/productpage`;
  const tally: Record<string, number> = {};
  for (let i = 0; i < requests; i++) {
    const user = i % 5 === 0 ? 'jason' : 'anonymous';
    const res = await fetch(url, { headers: { 'end-user': user } });
    const body = (await res.json()) as { reviews?: { version?: string } };
    const key = `${user.padEnd(9)} → reviews ${body.reviews?.version ?? `error ${res.status}`}`;
    tally[key] = (tally[key] ?? 0) + 1;
  }
  process.stdout.write(`${requests} requests to ${url}\n`);
  for (const [k, n] of Object.entries(tally).sort()) process.stdout.write(`  ${k}: ${n}\n`);

  const shutdown = async (): Promise<void> => {
    await Promise.all(meshes.map((m) => m.close()));
    await reviewsV2.close();
    await control?.close();
  };
  if (!serve) return shutdown();
  process.stdout.write(`serving ${url} (Ctrl-C to stop)\n`);
  process.once('SIGINT', () => void shutdown());
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
