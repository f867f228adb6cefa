import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createControlServer } from '../../control/index.js';
import { formatDiagnostic } from '../../config/index.js';
import { meshError } from '../../errors.js';
import { packageRoot } from '../../internal/package-root.js';
import { createMesh } from '../../mesh/create.js';
import type { Mesh } from '../../mesh/types.js';
import { EchoClient, echoCall } from '../../testing/echo.js';
import { optionalImport } from '../demo/optional.js';
import { parse, portOption } from '../args.js';
import { table, type Output } from '../output.js';

export const demoUsage = 'meshlet demo [--duration SECONDS] [--xds-port 15010] [--admin-port 15014] [--gateway-port 8080] [--config DIR] [--secure | --tour]';

/**
 * `meshlet demo`: a bookinfo-style mesh in one process. The control server watches the example
 * config; details (Express) and ratings (Fastify) are HTTP services and reviews v1/v2/v3 are gRPC
 * services, each its own meshlet mesh announcing itself over xDS; productpage is a meshlet client
 * (mesh.fetch and mesh.grpc), and a stock @grpc/grpc-js-xds client calls reviews beside it.
 */
export async function demoCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parse(argv, {
    duration: { type: 'string', short: 'd' },
    'xds-port': { type: 'string' },
    'admin-port': { type: 'string' },
    config: { type: 'string', short: 'c' },
    secure: { type: 'boolean' },
    tour: { type: 'boolean' },
    'gateway-port': { type: 'string' },
  });
  const secure = values.secure === true;
  const tour = values.tour === true;
  // The tour's last step is an AuthorizationPolicy of its own; --secure's policy already denies
  // productpage → ratings, which would hide the delay and abort steps.
  if (tour && secure) throw meshError('MESHLET_ERR_USAGE', '--tour and --secure cannot be combined');
  const duration = values.duration === undefined ? Infinity : Number(values.duration);
  if (!(duration > 0)) throw meshError('MESHLET_ERR_USAGE', `--duration must be a positive number of seconds`);
  const baseDir = values.config ?? join(packageRoot(), 'examples/bookinfo/config');

  const closers: Array<() => Promise<void> | void> = [];
  try {
    // --secure: the same config plus STRICT mTLS and a policy, a fresh CA, one token per service.
    const work = secure ? await mkdtemp(join(tmpdir(), 'meshlet-demo-')) : undefined;
    if (work) closers.push(() => rm(work, { recursive: true, force: true }));
    const configDir = work ? await secureConfig(baseDir, work) : baseDir;
    const server = await createControlServer({
      xdsPort: portOption(values['xds-port'], 15010, '--xds-port'),
      adminPort: portOption(values['admin-port'], 15014, '--admin-port'),
      configDir,
      ...(work ? { caDir: join(work, 'ca'), securePort: 0 } : {}),
    });
    closers.push(() => server.close());
    for (const d of server.store.errors()) out.error(formatDiagnostic(d));
    out.info(`control server: xDS on 127.0.0.1:${server.xdsPort}, admin http://127.0.0.1:${server.adminPort}/status, config ${configDir}`);

    const controlPlane = `127.0.0.1:${server.xdsPort}`;
    if (server.ca) out.info(`secure: CA in ${join(work as string, 'ca')}, xDS over TLS on 127.0.0.1:${server.securePort}; STRICT mTLS mesh-wide; ratings admits only spiffe://cluster.local/ns/default/sa/bookinfo-reviews`);
    const mesh = async (service: string, version: string): Promise<Mesh> => {
      const serviceAccount = `bookinfo-${service}`;
      const identity = server.ca
        ? { controlPlane: `127.0.0.1:${server.securePort}`, token: await server.ca.createJoinToken({ namespace: 'default', serviceAccount }) }
        : { controlPlane, serviceAccount };
      // metricsPort: each service serves Istio's metrics, which the dashboard's graph scrapes.
      const m = await createMesh({ ...identity, service, labels: { app: service, version }, initialFetchTimeoutMs: 2000, metricsPort: 0 });
      closers.push(() => m.close());
      return m;
    };
    // Loaded here, not at the top: the services import express/fastify only when the demo runs.
    const { SERVICE_PORT, startDetails, startRatings, startReviews } = await import('../demo/services.js');
    const detailsBy = await startDetails(await mesh('details', 'v1'));
    const ratingsBy = await startRatings(await mesh('ratings', 'v1'));
    for (const v of ['v1', 'v2', 'v3']) await startReviews(await mesh('reviews', v), v);
    out.info(`services: details-v1 (${detailsBy}), ratings-v1 (${ratingsBy}), reviews-v1/v2/v3 (gRPC), each a meshlet mesh announced over xDS`);
    for (const [name, by] of [['express', detailsBy], ['fastify', ratingsBy]] as const) {
      if (by === 'node:http') out.info(`note: ${name} is not installed, so that service runs on plain node:http (npm install ${name} to see the adapter)`);
    }

    const productpage = await mesh('productpage', 'v1');
    const reviews = productpage.grpc.client(EchoClient, `reviews:${SERVICE_PORT}`);
    closers.push(() => reviews.close());
    // The stock client is a devDependency: from an installed package it is usually absent.
    // A stock client has no SVID: under --secure STRICT servers would refuse it, so it sits out.
    const grpcXds = secure ? undefined : await optionalImport(() => import('@grpc/grpc-js-xds'));
    let stock: grpc.Client | undefined;
    if (grpcXds) {
      process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = JSON.stringify({
        xds_servers: [{ server_uri: controlPlane, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
        node: { id: 'productpage-grpc-js-xds', cluster: 'productpage', locality: {} },
      });
      grpcXds.register();
      const client = new EchoClient(`xds:///reviews.default.svc.cluster.local:${SERVICE_PORT}`, grpc.credentials.createInsecure());
      closers.push(() => client.close());
      stock = client;
      out.info('traffic: productpage (meshlet: fetch + gRPC) and a stock @grpc/grpc-js-xds client, as anonymous, as jason, and with x-test: abort');
    } else {
      out.info('traffic: productpage (meshlet: fetch + gRPC), as anonymous, as jason, and with x-test: abort');
      if (secure) out.info('note: every call is mTLS with SPIFFE identities; productpage → ratings is denied by the policy (HTTP 403), reviews → ratings would pass');
      else out.info('note: @grpc/grpc-js-xds is not installed, so the stock gRPC client rows are left out (npm install @grpc/grpc-js-xds to compare)');
    }

    // productpage serves the page; the ingress gateway (Istio's bookinfo-gateway.yaml, in the
    // demo config) routes /productpage to it from outside the mesh.
    const { startProductpage } = await import('../demo/services.js');
    await startProductpage(productpage, reviews, rpcFrom);
    const { createGateway } = await import('../../gateway/index.js');
    const gateway = await createGateway({
      ...(server.ca
        ? { controlPlane: `127.0.0.1:${server.securePort}`, token: await server.ca.createJoinToken({ namespace: 'istio-system', serviceAccount: 'istio-ingressgateway' }) }
        : { controlPlane }),
      ports: { 80: portOption(values['gateway-port'], 8080, '--gateway-port') },
      host: '127.0.0.1',
      metricsPort: 0,
    });
    closers.push(() => gateway.close());
    const ingress = `http://127.0.0.1:${gateway.ports[80]}`;
    out.info(`ingress gateway: curl ${ingress}/productpage   (curl -H 'end-user: jason' … for reviews v2)`);
    out.info(`dashboard: http://127.0.0.1:${server.adminPort}/   metrics: GET /stats/prometheus on each mesh's metrics port (http_sd list: http://127.0.0.1:${server.adminPort}/prometheus/targets)`);
    if (tour) {
      const { runTour } = await import('../demo/tour.js');
      await runTour({ server, productpage, reviews }, out);
      if (values.duration === undefined) return 0;
    }
    await runTraffic(out, { productpage, reviews, stock, ingress }, duration);
    return 0;
  } finally {
    for (const close of closers.reverse()) await close();
  }
}

/** The demo config plus examples/bookinfo/security/*.yaml, copied into `work/config`. */
async function secureConfig(baseDir: string, work: string): Promise<string> {
  const dir = join(work, 'config');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  const securityDir = join(packageRoot(), 'examples/bookinfo/security');
  for (const [from, names] of [[baseDir, await readdir(baseDir)], [securityDir, await readdir(securityDir)]] as const) {
    for (const name of names) if (/\.ya?ml$/.test(name)) await copyFile(join(from, name), join(dir, name));
  }
  return dir;
}

interface Clients {
  productpage: Mesh;
  reviews: grpc.Client;
  /** The stock grpc-js-xds client, when that package is installed. */
  stock: grpc.Client | undefined;
  /** The ingress gateway's address (`http://127.0.0.1:<port>`). */
  ingress: string;
}

/** One unary call: who answered, or the gRPC status it failed with. */
function rpcFrom(client: grpc.Client, md?: Record<string, string>): Promise<string> {
  return echoCall(client, md).then((r) => r.from, (err: { code?: number }) => `gRPC ${grpc.status[err.code ?? 2] ?? err.code}`);
}

/** A page through the ingress gateway, as an outside client (plain fetch, no mesh) gets it. */
async function throughGateway(ingress: string, headers: Record<string, string> = {}): Promise<string> {
  try {
    const res = await fetch(`${ingress}/productpage`, { headers });
    const text = await res.text();
    const reviews = /reviews: ([^<]*)/.exec(text)?.[1];
    return res.ok ? `${res.headers.get('x-served-by') ?? '?'} (reviews: ${reviews ?? '?'})` : `HTTP ${res.status}`;
  } catch (err) {
    return `error ${(err as Error).message}`;
  }
}

/** One round of the traffic mix: label → who answered (or why not). */
async function round(c: Clients): Promise<Array<[string, string]>> {
  const http = async (url: string, headers: Record<string, string> = {}): Promise<string> => {
    const res = await c.productpage.fetch(url, { headers });
    const body = (await res.json().catch(() => undefined)) as { from?: string } | undefined;
    const flags = res.headers.get('x-meshlet-response-flags');
    return body?.from ?? `HTTP ${res.status}${flags ? ` (${flags})` : ''}`;
  };
  const rpc = rpcFrom;
  const stock = c.stock;
  const [page, pageJason, details, ratings, abort, anon, jason, stockAnon, stockJason] = await Promise.all([
    throughGateway(c.ingress),
    throughGateway(c.ingress, { 'end-user': 'jason' }),
    http('http://details:9080/details/0'),
    http('http://ratings:9080/ratings/0'),
    http('http://ratings:9080/ratings/0', { 'x-test': 'abort' }),
    rpc(c.reviews),
    rpc(c.reviews, { 'end-user': 'jason' }),
    stock ? rpc(stock) : undefined,
    stock ? rpc(stock, { 'end-user': 'jason' }) : undefined,
  ]);
  const rows: Array<[string, string]> = [
    ['ingress       /productpage', page],
    ['ingress       /productpage jason', pageJason],
    ['meshlet HTTP  details', details],
    ['meshlet HTTP  ratings', ratings],
    ['meshlet HTTP  ratings x-test', abort],
    ['meshlet gRPC  reviews', anon],
    ['meshlet gRPC  reviews jason', jason],
  ];
  if (stockAnon !== undefined && stockJason !== undefined) rows.push(['grpc-js-xds   reviews', stockAnon], ['grpc-js-xds   reviews jason', stockJason]);
  return rows;
}

async function runTraffic(out: Output, clients: Clients, duration: number): Promise<void> {
  const stopAt = Date.now() + duration * 1000;
  let stopped = false;
  const stop = () => { stopped = true; };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    while (!stopped && Date.now() < stopAt) {
      const counts = new Map<string, number>();
      const roundEnd = Math.min(Date.now() + 2000, stopAt);
      while (!stopped && Date.now() < roundEnd) {
        for (const [label, answer] of await round(clients)) {
          const key = `${label.padEnd(28)} → ${answer}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      const rows = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => [k, String(n)]);
      out.info(`\n${new Date().toISOString()}\n${table(['CALLER  ROUTE → ANSWERED BY', 'CALLS'], rows)}`);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
