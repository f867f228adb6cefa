import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createControlServer, type ControlServer } from '../../control/index.js';
import { formatDiagnostic } from '../../config/index.js';
import { meshError } from '../../errors.js';
import { packageRoot } from '../../internal/package-root.js';
import { EchoClient, echoCall, startEchoServer, type EchoServer } from '../../testing/echo.js';
import { XdsClient } from '../../xds/ads-client.js';
import { buildNode } from '../../xds/node.js';
import { TYPE_URL } from '../../xds/type-urls.js';
import { parse, portOption } from '../args.js';
import { table, type Output } from '../output.js';

export const demoUsage = 'meshlet demo [--duration SECONDS] [--xds-port 15010] [--admin-port 15014] [--config DIR]';

const WORKLOADS = [
  { service: 'reviews', version: 'v1' },
  { service: 'reviews', version: 'v2' },
  { service: 'reviews', version: 'v3' },
  { service: 'ratings', version: 'v1' },
  { service: 'details', version: 'v1' },
];
const SERVICE_PORT = 9080;

/**
 * `meshlet demo`: the bookinfo-style mesh in one process. The control server watches the example
 * config; each example service is a real gRPC server that announces itself over xDS; a stock
 * @grpc/grpc-js-xds client plays productpage and sends traffic that follows the VirtualServices.
 */
export async function demoCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parse(argv, {
    duration: { type: 'string', short: 'd' },
    'xds-port': { type: 'string' },
    'admin-port': { type: 'string' },
    config: { type: 'string', short: 'c' },
  });
  const duration = values.duration === undefined ? Infinity : Number(values.duration);
  if (!(duration > 0)) throw meshError('MESHLET_ERR_USAGE', `--duration must be a positive number of seconds`);
  const configDir = values.config ?? join(packageRoot(), 'examples/bookinfo/config');

  const closers: Array<() => Promise<void> | void> = [];
  try {
    const server = await createControlServer({
      xdsPort: portOption(values['xds-port'], 15010, '--xds-port'),
      adminPort: portOption(values['admin-port'], 15014, '--admin-port'),
      configDir,
    });
    closers.push(() => server.close());
    for (const d of server.store.errors()) out.error(formatDiagnostic(d));
    out.info(`control server: xDS on 127.0.0.1:${server.xdsPort}, admin http://127.0.0.1:${server.adminPort}/status, config ${configDir}`);

    for (const w of WORKLOADS) {
      const backend = await startEchoServer(`${w.service}-${w.version}`);
      closers.push(() => backend.close());
      closers.push(announce(server, w, backend));
    }
    out.info(`services: ${WORKLOADS.map((w) => `${w.service}-${w.version}`).join(', ')} (gRPC, announced over xDS)`);

    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${server.xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'productpage-demo', cluster: 'productpage', locality: {} },
    });
    const grpcXds = await import('@grpc/grpc-js-xds');
    grpcXds.register();
    const reviews = new EchoClient(`xds:///reviews.default.svc.cluster.local:${SERVICE_PORT}`, grpc.credentials.createInsecure());
    const ratings = new EchoClient(`xds:///ratings.default.svc.cluster.local:${SERVICE_PORT}`, grpc.credentials.createInsecure());
    closers.push(() => reviews.close(), () => ratings.close());
    out.info('traffic: productpage (stock @grpc/grpc-js-xds) → reviews as anonymous and as jason, → ratings with x-test: abort');

    await runTraffic(out, reviews, ratings, duration);
    return 0;
  } finally {
    for (const close of closers.reverse()) await close();
  }
}

function announce(server: ControlServer, w: { service: string; version: string }, backend: EchoServer): () => void {
  const client = new XdsClient({
    server: `127.0.0.1:${server.xdsPort}`,
    node: buildNode({
      id: `${w.service}-${w.version}-${backend.port}`,
      service: w.service,
      namespace: 'default',
      labels: { app: w.service, version: w.version },
      serviceAccount: `bookinfo-${w.service}`,
      address: '127.0.0.1',
      ports: [{ number: SERVICE_PORT, name: 'grpc', protocol: 'GRPC', targetPort: backend.port }],
    }),
  });
  client.watch(TYPE_URL.listener, '*', { onChange() {} });
  return () => client.close();
}

async function runTraffic(out: Output, reviews: grpc.Client, ratings: grpc.Client, duration: number): Promise<void> {
  const stopAt = Date.now() + duration * 1000;
  let stopped = false;
  const stop = () => { stopped = true; };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    while (!stopped && Date.now() < stopAt) {
      const counts = new Map<string, number>();
      const bump = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
      const roundEnd = Math.min(Date.now() + 2000, stopAt);
      while (!stopped && Date.now() < roundEnd) {
        const [anon, jason, abort] = await Promise.allSettled([
          echoCall(reviews),
          echoCall(reviews, { 'end-user': 'jason' }),
          echoCall(ratings, { 'x-test': 'abort' }),
        ]);
        bump(`reviews (anonymous) → ${anon.status === 'fulfilled' ? anon.value.from : grpcStatus(anon.reason)}`);
        bump(`reviews (jason)     → ${jason.status === 'fulfilled' ? jason.value.from : grpcStatus(jason.reason)}`);
        bump(`ratings (x-test)    → ${abort.status === 'fulfilled' ? abort.value.from : grpcStatus(abort.reason)}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      const rows = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => [k, String(n)]);
      out.info(`\n${new Date().toISOString()}\n${table(['ROUTE → ANSWERED BY', 'CALLS'], rows)}`);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function grpcStatus(err: unknown): string {
  const code = (err as { code?: number }).code;
  return code === undefined ? 'error' : `gRPC ${grpc.status[code] ?? code}`;
}
