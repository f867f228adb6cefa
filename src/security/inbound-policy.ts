/**
 * The one inbound policy both adapters call: the HTTP pipeline (mesh.listen, Express, Fastify)
 * and the gRPC server interceptor hand it the same {@link InboundRequestView}, and it runs the
 * stages in order — authentication (JWT), authorization (RBAC), then the app's own hooks — and
 * tells every stage how the request ended (telemetry). This is where Envoy's inbound HTTP filter
 * chain (jwt_authn → rbac → stats) lives in a sidecar; here it is written once for both
 * protocols, and `mesh.inbound.use` / the gRPC server's `use` are faces of it.
 */
import type { InboundRequestView, InboundVerdict } from '../core/inbound.js';
import type { ResponseFlag } from '../core/types.js';
import type { Disposable } from '../internal/events.js';
import { trace } from '../internal/debug.js';

const log = trace('mesh');

/** One inbound request as the policy's stages see it. */
export interface InboundCall {
  readonly view: InboundRequestView;
  /** `performance.now()` when the request arrived. */
  readonly startTime: number;
  /** Response flags stages add (telemetry reports them). */
  readonly flags: ResponseFlag[];
  /** Per-request state stages share (for example the verified JWT). */
  readonly state: Record<string, unknown>;
  /** The adapter-specific request: `{ req, res }` for HTTP, `{ metadata }` for gRPC. */
  readonly native: unknown;
}

/** How an inbound request ended, as every stage's `onEnd` sees it. */
export interface InboundOutcome {
  /** HTTP status sent (gRPC: 200 unless the call was refused before the handler). */
  readonly status: number;
  /** gRPC status code (gRPC calls only). */
  readonly grpcStatus?: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly durationMs: number;
  /** gRPC: messages received and sent on the call (Istio's request/response message counters). */
  readonly requestMessages?: number;
  readonly responseMessages?: number;
  /** gRPC: the status message sent. */
  readonly details?: string;
  /** The refusal, when a stage refused the request, and which stage. */
  readonly denied?: InboundVerdict & { readonly stage: string };
}

/**
 * A step of the inbound policy. `onRequest` returns a verdict to refuse the request (the app
 * never sees it) or nothing to let it through; it may be async (a JWKS fetch), but a synchronous
 * answer costs no promise.
 */
export interface InboundStage {
  readonly name: string;
  onRequest?(call: InboundCall): InboundVerdict | void | PromiseLike<InboundVerdict | void>;
  onEnd?(call: InboundCall, outcome: InboundOutcome): void;
}

/**
 * Where a stage runs: Envoy's order — authentication filters, then authorization, then the
 * app's hooks; observers (telemetry) refuse nothing and only watch.
 */
export const INBOUND_PHASE = { authn: 100, authz: 200, app: 1000 } as const;

interface Entry {
  readonly stage: InboundStage;
  readonly phase: number;
}

/** A refusal raised by the policy itself when a stage fails: fail closed, never reach the app. */
const STAGE_FAILED: InboundVerdict = { status: 500, body: 'internal error' };

/**
 * The inbound policy of one mesh.
 *
 * @example
 * ```ts
 * const policy = new InboundPolicy();
 * policy.use({ name: 'deny-admin', onRequest: (c) => (c.view.path.startsWith('/admin') ? { status: 403, body: 'RBAC: access denied' } : undefined) }, INBOUND_PHASE.authz);
 * policy.run(call, (verdict) => (verdict ? refuse(verdict) : app()));
 * ```
 */
export class InboundPolicy {
  private entries: readonly Entry[] = [];

  /** Adds a stage at `phase` (stable: same phase keeps registration order); dispose to remove it. */
  use(stage: InboundStage, phase: number = INBOUND_PHASE.app): Disposable {
    const entry: Entry = { stage, phase };
    const next = [...this.entries, entry];
    next.sort((a, b) => a.phase - b.phase);
    this.entries = next;
    return { dispose: () => void (this.entries = this.entries.filter((e) => e !== entry)) };
  }

  /** True when no stage is registered (adapters skip building a view). */
  get empty(): boolean {
    return this.entries.length === 0;
  }

  /**
   * Runs the stages in order; `done(undefined)` lets the request through, `done(verdict)`
   * refuses it. Synchronous stages answer synchronously; a stage that throws or rejects refuses
   * the request with 500 (fail closed).
   */
  run(call: InboundCall, done: (verdict: (InboundVerdict & { stage: string }) | undefined) => void): void {
    this.step(this.entries, 0, call, done);
  }

  private step(entries: readonly Entry[], from: number, call: InboundCall, done: (verdict: (InboundVerdict & { stage: string }) | undefined) => void): void {
    for (let i = from; i < entries.length; i++) {
      const stage = (entries[i] as Entry).stage;
      if (!stage.onRequest) continue;
      let verdict: ReturnType<NonNullable<InboundStage['onRequest']>>;
      try {
        verdict = stage.onRequest(call);
      } catch (err) {
        log('inbound stage %s threw: %o', stage.name, err);
        return done({ ...STAGE_FAILED, stage: stage.name });
      }
      if (verdict && typeof (verdict as PromiseLike<unknown>).then === 'function') {
        (verdict as PromiseLike<InboundVerdict | void>).then(
          (v) => (v ? done({ ...v, stage: stage.name }) : this.step(entries, i + 1, call, done)),
          (err: unknown) => {
            log('inbound stage %s rejected: %o', stage.name, err);
            done({ ...STAGE_FAILED, stage: stage.name });
          },
        );
        return;
      }
      if (verdict) return done({ ...(verdict as InboundVerdict), stage: stage.name });
    }
    done(undefined);
  }

  /** Tells every stage how the request ended; a stage that throws is logged and skipped. */
  end(call: InboundCall, outcome: InboundOutcome): void {
    for (const { stage } of this.entries) {
      if (!stage.onEnd) continue;
      try {
        stage.onEnd(call, outcome);
      } catch (err) {
        log('inbound stage %s onEnd threw: %o', stage.name, err);
      }
    }
  }
}
