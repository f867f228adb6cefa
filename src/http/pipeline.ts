/**
 * The inbound pipeline: hook points every inbound request passes (mesh.listen, the Express
 * middleware, the Fastify plugin), where security (peer identity, authz) and telemetry plug in,
 * plus in-flight tracking so close() can drain. A request is processed once, however many of
 * those entry points it crosses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ResponseFlag } from '../core/types.js';
import { trace } from '../internal/debug.js';
import type { Disposable } from '../internal/events.js';
import { verifiedPeerId } from '../security/tls/peer.js';

const log = trace('mesh');

/**
 * Who is calling: the TLS peer's SPIFFE identity when there is one, and its address.
 *
 * @example
 * ```ts
 * mesh.inbound.use({ onRequest: ({ peer }) => (peer.identity ? undefined : { status: 401 }) });
 * ```
 */
export interface InboundPeer {
  /** URI SAN of the client certificate (`spiffe://cluster.local/ns/default/sa/productpage`). */
  identity?: string;
  address: string;
}

/** Per-request context handed to inbound hooks; `req.mesh` in Express and Fastify. */
export interface InboundContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly peer: InboundPeer;
  /** `performance.now()` when the request entered the pipeline. */
  readonly startTime: number;
  /** Response flags hooks may add (shown to telemetry). */
  readonly flags: ResponseFlag[];
}

/** A hook's refusal: the request is answered with this and never reaches the app. */
export interface InboundDenial {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

/**
 * Hooks of the inbound pipeline, run in registration order.
 *
 * @example
 * ```ts
 * mesh.inbound.use({
 *   onRequest: (ctx) => (ctx.peer.identity?.endsWith('/sa/productpage') ? undefined : { status: 403, body: 'RBAC: access denied' }),
 *   onResponse: (ctx) => metrics.observe(performance.now() - ctx.startTime),
 * });
 * ```
 */
export interface InboundHook {
  onRequest?(ctx: InboundContext): void | InboundDenial | Promise<void | InboundDenial>;
  onResponse?(ctx: InboundContext): void;
}

const kContext = Symbol.for('meshlet.inbound.context');

type WithContext = IncomingMessage & { [kContext]?: InboundContext };

/**
 * The context a request got from the pipeline, if it went through one.
 *
 * @example
 * ```ts
 * const peer = contextOf(req)?.peer.identity;
 * ```
 */
export function contextOf(req: IncomingMessage): InboundContext | undefined {
  return (req as WithContext)[kContext];
}

function peerOf(req: IncomingMessage): InboundPeer {
  const socket = req.socket as Partial<TLSSocket> | undefined;
  const peer: InboundPeer = { address: socket?.remoteAddress ?? '' };
  // Only a certificate the handshake verified names the peer (security/tls/peer.ts).
  const identity = verifiedPeerId(socket);
  if (identity) peer.identity = identity;
  return peer;
}

/**
 * Runs the inbound hooks and counts requests in flight.
 *
 * @example
 * ```ts
 * const pipeline = new InboundPipeline();
 * http.createServer((req, res) => pipeline.handle(req, res, () => app(req, res)));
 * ```
 */
export class InboundPipeline {
  private readonly hooks: InboundHook[] = [];
  private active = 0;
  private draining = false;
  private idle: Array<() => void> = [];

  /** Adds a hook; dispose to remove it. */
  use(hook: InboundHook): Disposable {
    this.hooks.push(hook);
    return {
      dispose: () => {
        const i = this.hooks.indexOf(hook);
        if (i >= 0) this.hooks.splice(i, 1);
      },
    };
  }

  /** Requests in flight (entered, response not finished). */
  get inFlight(): number {
    return this.active;
  }

  /**
   * Runs the request through the hooks, then `next()` unless a hook denied it. A request that
   * already went through (say mesh.listen and then the Express middleware) just calls `next()`.
   */
  handle(req: IncomingMessage, res: ServerResponse, next: () => void, deny?: (denial: InboundDenial) => void): void {
    const existing = contextOf(req);
    if (existing) return next();
    const ctx: InboundContext = { req, res, peer: peerOf(req), startTime: performance.now(), flags: [] };
    (req as WithContext)[kContext] = ctx;
    this.active++;
    if (this.draining) res.shouldKeepAlive = false;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      if (!res.writableFinished) ctx.flags.push('DC');
      this.finish(ctx);
    };
    res.once('close', end);
    this.run(ctx, 0, next, deny);
  }

  /** Marks draining: responses from now on close their connection (no keep-alive). */
  startDraining(): void {
    this.draining = true;
  }

  /** Resolves true when nothing is in flight, false if `timeoutMs` passed first. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.active === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idle = this.idle.filter((f) => f !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idle.push(done);
    });
  }

  private run(ctx: InboundContext, from: number, next: () => void, deny = (d: InboundDenial) => this.deny(ctx, d)): void {
    for (let i = from; i < this.hooks.length; i++) {
      const hook = this.hooks[i];
      if (!hook?.onRequest) continue;
      let verdict: ReturnType<NonNullable<InboundHook['onRequest']>>;
      try {
        verdict = hook.onRequest(ctx);
      } catch (err) {
        log('inbound onRequest hook threw: %o', err);
        return deny({ status: 500, body: 'internal error' });
      }
      if (verdict && typeof (verdict as Promise<unknown>).then === 'function') {
        (verdict as Promise<void | InboundDenial>).then(
          (v) => (v ? deny(v) : this.run(ctx, i + 1, next, deny)),
          (err: unknown) => {
            log('inbound onRequest hook rejected: %o', err);
            deny({ status: 500, body: 'internal error' });
          },
        );
        return;
      }
      if (verdict) return deny(verdict as InboundDenial);
    }
    try {
      next();
    } catch (err) {
      log('inbound handler threw: %o', err);
      if (!ctx.res.headersSent) this.deny(ctx, { status: 500, body: 'internal error' });
    }
  }

  private deny(ctx: InboundContext, d: InboundDenial): void {
    const { res } = ctx;
    if (res.headersSent || res.destroyed) return;
    const body = d.body ?? '';
    res.writeHead(d.status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...d.headers });
    res.end(body);
  }

  /** Runs onResponse hooks once per request (response finished or connection gone). */
  finish(ctx: InboundContext): void {
    const req = ctx.req as WithContext & { [kFinished]?: true };
    if (req[kFinished]) return;
    req[kFinished] = true;
    for (const hook of this.hooks) {
      if (!hook.onResponse) continue;
      try {
        hook.onResponse(ctx);
      } catch (err) {
        log('inbound onResponse hook threw: %o', err);
      }
    }
    this.active--;
    if (this.active === 0 && this.idle.length > 0) {
      const idle = this.idle;
      this.idle = [];
      for (const f of idle) f();
    }
  }
}

const kFinished = Symbol('meshlet.inbound.finished');
