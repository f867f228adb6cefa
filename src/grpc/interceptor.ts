/**
 * The client interceptor: the resilience half of a mesh gRPC call (routing, fault injection,
 * admission and the route timeout happen in the ConfigSelector, which is the only per-call hook
 * that knows the target). One {@link MeshClientCall} per logical call runs attempts as separate
 * channel calls: each gets a fresh metadata-options object the ConfigSelector recognises, so
 * retries reuse the first attempt's plan instead of routing (and rolling fault dice) again.
 *
 * A call commits when the first response message arrives (response headers are held back until
 * then, so a retried attempt's headers never reach the caller); after that it is never retried. Only replayable calls are retried: unary and
 * server-streaming ones (the request message is kept), client-streaming and bidi ones only
 * while no message has been sent upstream.
 */
import { InterceptingCall, Metadata, status as Status, type Interceptor, type InterceptorOptions, type NextCall, type StatusObject } from '@grpc/grpc-js';
import type { AttemptOutcome, HeldSlot } from '../core/types.js';
import { clearLongTimeout, setLongTimeout, type LongTimer } from '../internal/timer.js';
import { AttemptContext, CallState } from './call-state.js';
import { registry } from './registry.js';
import { GRPC_CONDITION_BY_CODE } from './status.js';
import type { GrpcMeshRuntime } from './types.js';

type Listener = { onReceiveMetadata(m: Metadata): void; onReceiveMessage(m: unknown): void; onReceiveStatus(s: StatusObject): void };
type Child = ReturnType<NextCall>;
type MessageContext = Parameters<Child['sendMessageWithContext']>[0];

interface Attempt {
  readonly child: Child;
  readonly ctx: AttemptContext;
  /** Response headers held back until the call commits (a message arrives) or ends. */
  headers?: Metadata;
  /** A unary response, held until the status (grpc-js reports a `null` message before any unary error). */
  response?: { message: unknown };
}

const CONNECTION_CONDITIONS: Readonly<Record<'connect-failure' | 'reset' | 'timeout', readonly string[]>> = {
  'connect-failure': ['connect-failure', 'reset', '5xx', 'gateway-error', 'unavailable'],
  reset: ['reset', '5xx', 'gateway-error', 'unavailable'],
  timeout: ['deadline-exceeded', '5xx', 'gateway-error'],
};

function deadlineMs(deadline: InterceptorOptions['deadline']): number {
  if (deadline === undefined) return Infinity;
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/** Does retry_on cover how this attempt ended? */
export function retryCovers(retryOn: ReadonlySet<string>, outcome: AttemptOutcome | undefined, code: Status): boolean {
  if (outcome && outcome.kind !== 'response') {
    return CONNECTION_CONDITIONS[outcome.kind].some((c) => retryOn.has(c));
  }
  const name = GRPC_CONDITION_BY_CODE[code];
  return name !== undefined && retryOn.has(name);
}

/** One attempt: its channel call, and the listener grpc-js reports it to (one object, no closures). */
class AttemptListener implements Attempt, Listener {
  headers?: Metadata;
  response?: { message: unknown };

  constructor(private readonly owner: MeshClientCall, readonly child: Child, readonly ctx: AttemptContext) {}

  onReceiveMetadata(m: Metadata): void {
    this.owner.onMetadata(this, m);
  }

  onReceiveMessage(m: unknown): void {
    this.owner.onMessage(this, m);
  }

  onReceiveStatus(s: StatusObject): void {
    this.owner.onStatus(this, s);
  }
}

/** One logical call through the mesh. */
class MeshClientCall implements Child {
  private readonly call: CallState;
  private readonly requestStream: boolean;
  private readonly responseStream: boolean;
  private listener: Partial<Listener> | undefined;
  private metadata: Metadata | undefined;
  private current: Attempt | undefined;
  /** The request message of a unary/server-streaming call, kept for replay. */
  private message: { context: MessageContext; message: unknown } | undefined;
  /** Messages of a streaming request written while no attempt was open (during a backoff). */
  private queued: Array<{ context: MessageContext; message: unknown }> = [];
  private sentUpstream = 0;
  private halfClosed = false;
  private reading = false;
  private committed = false;
  private callerCancelled = false;
  private done = false;
  private retryTimer: LongTimer | undefined;
  private retrySlot: HeldSlot | undefined;

  constructor(private readonly options: InterceptorOptions, private readonly next: NextCall, runtime: GrpcMeshRuntime) {
    this.requestStream = options.method_definition.requestStream;
    this.responseStream = options.method_definition.responseStream;
    this.call = new CallState(runtime, true);
    this.call.callerDeadline = deadlineMs(options.deadline);
  }

  start(metadata: Metadata, listener?: Partial<Listener>): void {
    this.metadata = metadata;
    this.listener = listener;
    this.launch();
  }

  sendMessageWithContext(context: MessageContext, message: unknown): void {
    if (!this.requestStream) this.message = { context, message };
    const attempt = this.current;
    if (!attempt) {
      if (this.requestStream) this.queued.push({ context, message });
      return;
    }
    if (this.requestStream) this.sentUpstream++;
    attempt.child.sendMessageWithContext(context, message);
  }

  sendMessage(message: unknown): void {
    this.sendMessageWithContext({}, message);
  }

  halfClose(): void {
    this.halfClosed = true;
    this.current?.child.halfClose();
  }

  startRead(): void {
    this.reading = true;
    this.current?.child.startRead();
  }

  cancelWithStatus(code: Status, details: string): void {
    if (this.done) return;
    this.callerCancelled = true;
    const attempt = this.current;
    if (attempt) attempt.child.cancelWithStatus(code, details);
    else this.finish({ code, details, metadata: new Metadata() });
  }

  getPeer(): string {
    return this.current?.child.getPeer() ?? '';
  }

  getAuthContext(): ReturnType<Child['getAuthContext']> {
    return this.current?.child.getAuthContext() ?? null;
  }

  // ---------------------------------------------------------------------------------------------

  private launch(): void {
    this.retryTimer = undefined;
    if (this.done || !this.metadata) return;
    const call = this.call;
    const retry = call.attempts > 0;
    call.attempts++;
    const ctx = new AttemptContext(call);
    const md = this.metadata.clone();
    md.setOptions({ ...this.metadata.getOptions() });
    registry().byOptions.set(md.getOptions(), ctx);
    let options = this.options;
    if (retry) {
      const perTry = call.plan?.retry?.perTryTimeoutMs;
      const at = Math.min(call.deadline, perTry !== undefined && perTry > 0 ? Date.now() + perTry : Infinity);
      options = { ...options, deadline: at === Infinity ? Infinity : at };
    }
    const child = this.next(options);
    const attempt = new AttemptListener(this, child, ctx);
    this.current = attempt;
    child.start(md, attempt);
    if (!retry) return;
    if (this.message) child.sendMessageWithContext({ ...(this.message.context.flags !== undefined ? { flags: this.message.context.flags } : {}) }, this.message.message);
    const queued = this.queued;
    this.queued = [];
    for (const q of queued) {
      this.sentUpstream++;
      child.sendMessageWithContext(q.context, q.message);
    }
    if (this.halfClosed) child.halfClose();
    if (this.reading) child.startRead();
  }

  /** @internal called by the attempt's listener */
  onMetadata(attempt: Attempt, metadata: Metadata): void {
    if (attempt !== this.current) return;
    attempt.ctx.sawHeaders = true;
    if (this.committed) this.listener?.onReceiveMetadata?.(metadata);
    else attempt.headers = metadata;
  }

  /** @internal called by the attempt's listener */
  onMessage(attempt: Attempt, message: unknown): void {
    if (attempt !== this.current) return;
    if (!this.responseStream) {
      attempt.response = { message };
      return;
    }
    if (!this.committed) {
      this.committed = true;
      this.flushHeaders(attempt);
    }
    this.listener?.onReceiveMessage?.(message);
  }

  private flushHeaders(attempt: Attempt): void {
    const headers = attempt.headers;
    attempt.headers = undefined;
    if (headers) this.listener?.onReceiveMetadata?.(headers);
  }

  /** @internal called by the attempt's listener */
  onStatus(attempt: Attempt, status: StatusObject): void {
    if (attempt !== this.current || this.done) return;
    this.current = undefined;
    if (status.code !== Status.OK && this.retry(attempt.ctx, status)) return;
    this.flushHeaders(attempt);
    if (attempt.response) this.listener?.onReceiveMessage?.(attempt.response.message);
    this.finish(status, attempt.ctx);
  }

  /** Schedules the next attempt when allowed (true); records why not otherwise. */
  private retry(ctx: AttemptContext, status: StatusObject): boolean {
    const call = this.call;
    const plan = call.plan;
    const policy = plan?.retry;
    this.releaseRetrySlot();
    if (!plan || !policy || policy.numRetries <= 0 || ctx.local || this.callerCancelled || this.committed) return false;
    if (this.requestStream && this.sentUpstream > 0) return false;
    const now = Date.now();
    let outcome = ctx.outcome;
    if (status.code === Status.DEADLINE_EXCEEDED && !ctx.sawHeaders) {
      if (now >= call.deadline) return false; // the call's own deadline: over
      outcome = { kind: 'timeout' }; // a per-try timeout
    }
    if (!retryCovers(policy.retryOn, outcome, status.code)) return false;
    if (call.attempts > policy.numRetries) {
      call.flag('URX');
      return false;
    }
    const slot = plan.admitRetry();
    if (!slot.ok) {
      call.flag(slot.flag);
      return false;
    }
    const backoff = Math.max(0, policy.backoffMs(call.attempts, call.runtime.random));
    if (now + backoff >= call.deadline) {
      slot.release();
      return false;
    }
    this.retrySlot = slot;
    this.retryTimer = setLongTimeout(() => this.launch(), backoff);
    return true;
  }

  private releaseRetrySlot(): void {
    this.retrySlot?.release();
    this.retrySlot = undefined;
  }

  private finish(status: StatusObject, ctx?: AttemptContext): void {
    if (this.done) return;
    this.done = true;
    clearLongTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.releaseRetrySlot();
    const call = this.call;
    if (call.routed) {
      if (this.callerCancelled) call.flag('DC');
      else if (status.code === Status.DEADLINE_EXCEEDED && call.plan && call.callerDeadline > Date.now()) call.flag('UT');
      else if (ctx?.outcome?.kind === 'reset') call.flag('UC');
      call.finish(status.code);
    }
    this.listener?.onReceiveStatus?.(status);
  }
}

/**
 * Creates the meshlet client interceptor for a mesh. Add it to any generated or dynamic client
 * whose channel is a `mesh:///` target (`meshGrpc(mesh).interceptors` does).
 *
 * @example
 * ```ts
 * const client = new EchoClient('mesh:///reviews:9080', credentials, { ...channelOptions, interceptors: [createClientInterceptor(runtime)] });
 * ```
 */
export function createClientInterceptor(runtime: GrpcMeshRuntime): Interceptor {
  return (options, nextCall) => new InterceptingCall(new MeshClientCall(options, nextCall, runtime));
}
