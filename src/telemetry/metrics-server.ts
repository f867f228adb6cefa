/**
 * The Prometheus endpoint of one mesh: `GET /stats/prometheus` (Istio's merged metrics path, the
 * one its `prometheus.io/path` annotation names) answers the Istio standard metrics in text
 * format 0.0.4. Nothing else is served; the server keeps no idle socket open past a second so
 * `close()` is quick.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { meshError } from '../errors.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus.js';

/** The path Istio's sidecars serve merged metrics on. */
export const METRICS_PATH = '/stats/prometheus';

/**
 * A bound metrics endpoint.
 *
 * @example
 * ```ts
 * const server = await MetricsServer.start(() => metrics.render(), '127.0.0.1', 0);
 * console.log(`curl http://127.0.0.1:${server.port}/stats/prometheus`);
 * await server.close();
 * ```
 */
export class MetricsServer {
  private constructor(private readonly server: Server, readonly port: number) {}

  /** Listens on `host:port` (0 picks a free port). Rejects with MESHLET_ERR_PORT_IN_USE / MESHLET_ERR_LISTEN when it cannot bind, MESHLET_ERR_CONFIG for a bad port. */
  static async start(render: () => string, host: string, port: number): Promise<MetricsServer> {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw meshError('MESHLET_ERR_CONFIG', `metricsPort must be an integer 0–65535 (got ${String(port)})`);
    const server = createServer((req, res) => serve(req, res, render));
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const code = err.code === 'EADDRINUSE' ? 'MESHLET_ERR_PORT_IN_USE' : 'MESHLET_ERR_LISTEN';
        reject(meshError(code, `metrics endpoint cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      });
      server.listen({ host, port }, () => resolve());
    });
    server.on('error', () => {}); // after listening, a socket error must not reach the host process
    return new MetricsServer(server, (server.address() as AddressInfo).port);
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function serve(req: IncomingMessage, res: ServerResponse, render: () => string): void {
  req.resume(); // a body (there should be none) is discarded, never buffered
  const q = req.url?.indexOf('?') ?? -1;
  const path = q < 0 ? req.url : req.url!.slice(0, q);
  if (path !== METRICS_PATH) return end(res, 404, 'text/plain; charset=utf-8', `not found; metrics are at ${METRICS_PATH}\n`);
  if (req.method !== 'GET' && req.method !== 'HEAD') return end(res, 405, 'text/plain; charset=utf-8', 'GET only\n', { allow: 'GET, HEAD' });
  let body: string;
  try {
    body = render();
  } catch (err) {
    return end(res, 500, 'text/plain; charset=utf-8', `rendering failed: ${(err as Error).message}\n`);
  }
  end(res, 200, PROMETHEUS_CONTENT_TYPE, body, {}, req.method === 'HEAD');
}

function end(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}, head = false): void {
  res.writeHead(status, { ...headers, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}
