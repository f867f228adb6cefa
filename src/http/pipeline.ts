/**
 * The HTTP face of the inbound policy: every inbound request (mesh.listen, the Express
 * middleware, the Fastify plugin) is read once into the protocol-neutral request view, run
 * through the mesh's {@link InboundPolicy} (JWT, authorization, then the hooks added with
 * `mesh.inbound.use`), and counted in flight so close() can drain. A request is processed once,
 * however many of those entry points it crosses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InboundRequestView, InboundVerdict } from '../core/inbound.js';
import type { ResponseFlag } from '../core/types.js';
import { trace } from '../internal/debug.js';
import type { Disposable } from '../internal/events.js';
import { InboundPolicy, INBOUND_PHASE, type InboundCall, type InboundStage } from '../security/inbound-policy.js';
import { httpView } from './inbound-view.js';
import { runHandlerInScope } from '../telemetry/context.js';

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
  /** The protocol-neutral view the inbound policy evaluated (normalized path, verified peer). */
  readonly view: InboundRequestView;
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

function peerOf(view: InboundRequestView): InboundPeer {
  return view.peer.principal === undefined ? { address: view.peer.address } : { identity: view.peer.principal, address: view.peer.address };
}

/** How the HTTP adapter hands a request to the policy's stages (`call.native`). */
export interface HttpNative {
  readonly kind: 'http';
  readonly ctx: InboundContext;
}

/** The `mesh.inbound.use` hook as a stage of the policy: it runs for HTTP requests only. */
function hookStage(hook: InboundHook): InboundStage {
  return {
    name: 'inbound.use',
    ...(hook.onRequest
      ? {
          onRequest: (call: InboundCall) => {
            const native = call.native as HttpNative | undefined;
            return native?.kind === 'http' ? (hook.onRequest as NonNullable<InboundHook['onRequest']>)(native.ctx) : undefined;
          },
        }
      : {}),
    ...(hook.onResponse
      ? {
          onEnd: (call: InboundCall) => {
            const native = call.native as HttpNative | undefined;
            if (native?.kind === 'http') (hook.onResponse as NonNullable<InboundHook['onResponse']>)(native.ctx);
          },
        }
      : {}),
  };
}

type Tracked = WithContext & { [kCall]?: InboundCall; [kFinished]?: true };

/**
 * Runs the inbound policy for HTTP requests and counts them in flight.
 *
 * @example
 * ```ts
 * const pipeline = new InboundPipeline(new InboundPolicy());
 * http.createServer((req, res) => pipeline.handle(req, res, () => app(req, res)));
 * ```
 */
export class InboundPipeline {
  private active = 0;
  private draining = false;
  private idle: Array<() => void> = [];

  /**
   * @param policy the mesh's inbound policy (shared with the gRPC servers)
   * @param servicePort maps the socket's local port to the port the mesh announces for it
   */
  constructor(
    readonly policy: InboundPolicy = new InboundPolicy(),
    private readonly servicePort: (localPort: number) => number = (p) => p,
  ) {}

  /** Adds a hook (`mesh.inbound.use`): a stage of the policy after authentication and authorization; dispose to remove it. */
  use(hook: InboundHook): Disposable {
    return this.policy.use(hookStage(hook), INBOUND_PHASE.app);
  }

  /** Requests in flight (entered, response not finished). */
  get inFlight(): number {
    return this.active;
  }

  /**
   * Runs the request through the policy, then `next()` unless a stage refused it. A request that
   * already went through (say mesh.listen and then the Express middleware) just calls `next()`.
   */
  handle(req: IncomingMessage, res: ServerResponse, next: () => void, deny?: (denial: InboundDenial) => void): void {
    if (contextOf(req)) return next();
    const refuse = deny ?? ((d: InboundDenial) => this.deny(res, d));
    const view = httpView(req, this.servicePort(req.socket?.localPort ?? 0));
    if (!('protocol' in view)) return refuse(view as InboundVerdict);
    const ctx: InboundContext = { req, res, peer: peerOf(view), startTime: performance.now(), flags: [], view };
    const call: InboundCall = { view, startTime: ctx.startTime, flags: ctx.flags, state: {}, native: { kind: 'http', ctx } satisfies HttpNative };
    (req as Tracked)[kContext] = ctx;
    (req as Tracked)[kCall] = call;
    this.active++;
    if (this.draining) res.shouldKeepAlive = false;
    let ended = false;
    res.once('close', () => {
      if (ended) return;
      ended = true;
      if (!res.writableFinished) ctx.flags.push('DC');
      this.finish(ctx);
    });
    this.policy.run(call, (verdict) => {
      if (verdict) {
        (call.state as { denied?: unknown }).denied = verdict;
        return refuse(verdict);
      }
      try {
        runHandlerInScope(call.state, req, next); // the handler's own calls inherit the trace and x-request-id
      } catch (err) {
        log('inbound handler threw: %o', err);
        if (!res.headersSent) this.deny(res, { status: 500, body: 'internal error' });
      }
    });
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

  private deny(res: ServerResponse, d: InboundDenial): void {
    if (res.headersSent || res.destroyed) return;
    const body = d.body ?? '';
    res.writeHead(d.status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...d.headers });
    res.end(body);
  }

  /** Ends the request for the policy's stages once (response finished or connection gone). */
  finish(ctx: InboundContext): void {
    const req = ctx.req as Tracked;
    if (req[kFinished]) return;
    req[kFinished] = true;
    const call = req[kCall];
    if (call) {
      const { res } = ctx;
      const denied = (call.state as { denied?: InboundVerdict & { stage: string } }).denied;
      this.policy.end(call, {
        status: res.statusCode,
        requestBytes: Number(req.headers['content-length']) || 0,
        responseBytes: Number(res.getHeader('content-length')) || 0,
        durationMs: performance.now() - call.startTime,
        ...(denied ? { denied } : {}),
      });
    }
    this.active--;
    if (this.active === 0 && this.idle.length > 0) {
      const idle = this.idle;
      this.idle = [];
      for (const f of idle) f();
    }
  }
}

const kCall = Symbol('meshlet.inbound.call');
const kFinished = Symbol('meshlet.inbound.finished');
