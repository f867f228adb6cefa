/**
 * Inbound servers for `mesh.listen()`: takes a request handler, a node:http(s) server, an
 * Express app or a Fastify instance, puts the inbound pipeline in front of it, listens, counts
 * its requests in flight and closes it gracefully (stop accepting, drain, then destroy).
 */
import * as http from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { meshError } from '../errors.js';
import type { InboundPipeline } from './pipeline.js';
import type { InboundTls } from '../security/tls/inbound.js';

/** A Fastify instance, structurally (meshlet does not import fastify at runtime). */
export interface FastifyLike {
  readonly server: http.Server;
  ready(): PromiseLike<unknown>;
}

/** What `mesh.listen()` serves. An Express app is a request handler. */
export type ListenTarget = RequestListener | http.Server | FastifyLike;

/**
 * Options of `mesh.listen()`.
 *
 * @example
 * ```ts
 * await mesh.listen(app, { port: 0, servicePort: 9080 }); // any free port, announced as 9080
 * ```
 */
export interface ListenOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Interface; default the mesh's announced address. */
  host?: string;
  /** Port announced to the mesh (what clients dial, e.g. 9080); default the actual port. */
  servicePort?: number;
  /**
   * Aborting it before the server listens rejects `listen()` (nothing stays open); aborting it
   * later closes the server, as `server.listen({ signal })` does in Node.
   */
  signal?: AbortSignal;
}

/**
 * A listening inbound server.
 *
 * @example
 * ```ts
 * const { port, close } = await mesh.listen(handler, { port: 0 });
 * await close(); // withdraw, drain, close
 * ```
 */
export interface ListenHandle {
  /** The actual port (useful with port 0). */
  readonly port: number;
  readonly server: http.Server;
  /** Withdraws this port from the mesh, drains its requests and closes it. Idempotent. */
  close(): Promise<void>;
}

function isFastify(target: unknown): target is FastifyLike {
  const t = target as Partial<FastifyLike> | null;
  return t !== null && (typeof t === 'object' || typeof t === 'function') && t.server instanceof NetServer && typeof t.ready === 'function';
}

/**
 * A server with the pipeline in front of its request listeners (it takes over the server's
 * existing `request` listeners, so Express, Fastify and plain handlers all work).
 *
 * @example
 * ```ts
 * const s = await InboundServer.start(app, { port: 0, host: '127.0.0.1' }, pipeline);
 * await s.close(5000);
 * ```
 */
export class InboundServer {
  readonly server: http.Server;
  port = 0;
  private active = 0;
  private idle: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private tls: InboundTls | undefined;

  private constructor(server: http.Server, private readonly pipeline: InboundPipeline) {
    this.server = server;
    const listeners = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res, listeners));
  }

  /**
   * Wraps the target and listens.
   *
   * @example
   * ```ts
   * const s = await InboundServer.start(app, { port: 0, host: '127.0.0.1' }, pipeline);
   * ```
   */
  static async start(target: ListenTarget, options: ListenOptions & { host: string }, pipeline: InboundPipeline, tls?: InboundTls): Promise<InboundServer> {
    let server: http.Server;
    if (isFastify(target)) {
      await target.ready();
      server = target.server;
    } else if (target instanceof NetServer) {
      server = target as http.Server;
    } else if (typeof target === 'function') {
      server = http.createServer();
      server.on('request', target);
    } else {
      throw meshError('MESHLET_ERR_LISTEN', 'mesh.listen() takes a request handler, an http(s).Server, an Express app or a Fastify instance');
    }
    const inbound = new InboundServer(server, pipeline);
    // mTLS by the first byte of each connection (security/tls/inbound.ts); before listen, so no
    // connection skips it.
    // An https.Server terminates TLS itself (its own certificate): it is served as it is.
    const sniffing = server instanceof TlsServer ? undefined : tls?.attach(server, () => inbound.port);
    try {
      inbound.port = await listen(server, options.port, options.host);
    } catch (err) {
      sniffing?.dispose();
      throw err;
    }
    inbound.tls = tls;
    return inbound;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse, listeners: RequestListener[]): void {
    this.active++;
    if (this.closing) res.shouldKeepAlive = false;
    res.once('close', () => {
      if (--this.active === 0) this.idle?.();
    });
    this.pipeline.handle(req, res, () => {
      for (const l of listeners) l.call(this.server, req, res);
    });
  }

  /** Stops accepting, waits for requests in flight (up to `drainTimeoutMs`), then destroys the rest. */
  /** Stops accepting, waits up to `drainTimeoutMs` for requests in flight (less if `signal` aborts), ends the rest. */
  close(drainTimeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal) {
      if (signal.aborted) this.idle?.();
      else signal.addEventListener('abort', () => this.idle?.(), { once: true });
    }
    if (this.closing) return this.closing;
    this.closing = (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      if (this.active > 0 && !signal?.aborted) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, drainTimeoutMs);
          this.idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      // Let the last responses flush, then end what is left (idle keep-alive sockets, stragglers).
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.server.closeAllConnections();
      await closed;
      this.tls?.close();
    })();
    return this.closing;
  }
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const code = err.code === 'EADDRINUSE' ? 'MESHLET_ERR_PORT_IN_USE' : 'MESHLET_ERR_LISTEN';
      reject(meshError(code, `cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
