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
import type { Interceptor, InterceptorOptions, Metadata, NextCall, StatusObject } from '@grpc/grpc-js';
import { newMetadata, Status } from './lib.js';
import { RetryAttempt, RetryState } from '../core/resilience/retry-state.js';
import type { AttemptOutcome, CallPlan } from '../core/types.js';
import { DeadlineTimer } from '../internal/timer.js';
import { AttemptContext, CallState, type RoutedListener } from './call-state.js';
import { ATTEMPT } from './registry.js';
import { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from '../telemetry/peer-metadata.js';
import { attemptOutcome } from './status.js';
import type { GrpcMeshRuntime } from './types.js';

type Listener = { onReceiveMetadata(m: Metadata): void; onReceiveMessage(m: unknown): void; onReceiveStatus(s: StatusObject): void };
type Child = ReturnType<NextCall>;
type MessageContext = Parameters<Child['sendMessageWithContext']>[0];

/** A timed-out gRPC attempt is a DEADLINE_EXCEEDED attempt to its client (retry_on `deadline-exceeded`). */
const TIMED_OUT: AttemptOutcome = Object.freeze({ kind: 'timeout', grpcStatus: Status.DEADLINE_EXCEEDED });
const HEDGE_LOST = 'meshlet: another hedged attempt answered first';
/** The retry-state options of calls with one request message, and of streamed requests (not hedged). */
const UNARY_REQUEST = Object.freeze({ hedging: true, timeoutOutcome: TIMED_OUT });
const STREAMED = Object.freeze({ hedging: false, timeoutOutcome: TIMED_OUT });
const PER_TRY_TIMEOUT = 'meshlet: per-try timeout';

function deadlineMs(deadline: InterceptorOptions['deadline']): number {
  if (deadline === undefined) return Infinity;
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/** One attempt: its channel call, and the listener grpc-js reports it to (one object, no closures). */
class AttemptListener extends RetryAttempt implements Listener {
  /** Response headers held back until the call commits (a message arrives) or ends. */
  headers?: Metadata;
  /** A unary response arrived (held in `response` until the status: grpc-js reports a `null` message before any unary error). */
  responded = false;
  response: unknown = undefined;

  constructor(private readonly owner: MeshClientCall, readonly child: Child, readonly ctx: AttemptContext) {
    super();
  }

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

/**
 * One logical call through the mesh. Retry decisions, per-try timeouts, hedging and the
 * deadline are core's {@link RetryState}, which this call extends; it does the grpc-js I/O.
 */
class MeshClientCall extends RetryState<AttemptListener> implements Child, RoutedListener {
  private readonly call: CallState;
  private readonly requestStream: boolean;
  private readonly responseStream: boolean;
  private listener: Partial<Listener> | undefined;
  private metadata: Metadata | undefined;
  /** The request message of a unary/server-streaming call and its context, kept for replay (context set: there is one). */
  private message: unknown = undefined;
  private messageContext: MessageContext | undefined;
  /** Messages of a streaming request written while no attempt was open (during a backoff). */
  private queued: Array<{ context: MessageContext; message: unknown }> | undefined;
  private halfClosed = false;
  private reading = false;
  private callerCancelled = false;
  private timer: DeadlineTimer | undefined;

  constructor(private readonly options: InterceptorOptions, private readonly next: NextCall, runtime: GrpcMeshRuntime) {
    // A gRPC route's retry policy is the service owner's statement that its methods may be
    // resent (gRFC A6; Envoy has no method rule): every call counts as idempotent. Streamed
    // requests are not hedged (the racing attempts would need every message).
    super(undefined, true, true, runtime.random, options.method_definition.requestStream ? STREAMED : UNARY_REQUEST);
    // The call state and this retry state write one list: not the shared frozen empty one the
    // retry state starts with (HTTP's zero-allocation case), which a push would throw on.
    this.flags = [];
    const call = new CallState(runtime, true, this.flags);
    this.call = call;
    call.owner = this;
    this.requestStream = options.method_definition.requestStream;
    this.responseStream = options.method_definition.responseStream;
    this.callerDeadline = call.callerDeadline = deadlineMs(options.deadline);
  }

  start(metadata: Metadata, listener?: Partial<Listener>): void {
    this.metadata = metadata;
    this.listener = listener;
    this.launch();
  }

  sendMessageWithContext(context: MessageContext, message: unknown): void {
    this.call.requestMessages++;
    if (!this.requestStream) {
      this.message = message;
      this.messageContext = context;
    }
    const attempt = this.current;
    if (!attempt) {
      if (this.requestStream) (this.queued ??= []).push({ context, message });
      return;
    }
    if (this.requestStream) this.replayable = false; // a streamed message went upstream: no replay
    attempt.child.sendMessageWithContext(context, message);
  }

  sendMessage(message: unknown): void {
    this.sendMessageWithContext({}, message);
  }

  halfClose(): void {
    this.halfClosed = true;
    this.current?.child.halfClose();
    if (this.racing) for (const a of this.racing) a.child.halfClose();
  }

  startRead(): void {
    this.reading = true;
    this.current?.child.startRead();
    if (this.racing) for (const a of this.racing) a.child.startRead();
  }

  cancelWithStatus(code: Status, details: string): void {
    if (this.done) return;
    this.callerCancelled = true;
    const open = this.takeAll();
    if (!open) return this.finish({ code, details, metadata: newMetadata() });
    // The first of them to report its status ends the call (with its trailers).
    this.current = open.pop();
    this.racing = open.length > 0 ? open : undefined;
    this.current?.child.cancelWithStatus(code, details);
    if (this.racing) for (const a of this.racing) a.child.cancelWithStatus(code, details);
  }

  getPeer(): string {
    return this.current?.child.getPeer() ?? '';
  }

  getAuthContext(): ReturnType<Child['getAuthContext']> {
    return this.current?.child.getAuthContext() ?? null;
  }

  // ---------------------------------------------------------------------------------------------

  /** @internal The ConfigSelector routed the call: the plan, its route deadline, the first attempt's per-try deadline. */
  onRouted(plan: CallPlan): void {
    this.bindPlan(plan);
    this.deadline = this.call.routeDeadline;
    this.armTimer();
  }

  private launch(): void {
    if (this.done || !this.metadata) return;
    const call = this.call;
    const retry = this.attempts > 0;
    const ctx = new AttemptContext(call);
    const md = this.metadata.clone();
    md.setOptions({ ...this.metadata.getOptions(), [ATTEMPT]: ctx } as ReturnType<Metadata['getOptions']>);
    const mx = call.runtime.peerMetadata;
    if (mx) {
      md.set(PEER_METADATA_HEADER, mx.value);
      md.set(PEER_METADATA_ID_HEADER, mx.id);
    }
    let options = this.options;
    if (retry) {
      // Per-try deadlines are the state's timer (a hedged attempt outlives its own); grpc-js
      // enforces only the call's.
      const at = Math.min(this.deadline, this.callerDeadline);
      options = { ...options, deadline: at === Infinity ? Infinity : at };
    }
    const child = this.next(options);
    const attempt = new AttemptListener(this, child, ctx);
    this.onAttemptStart(attempt, undefined); // the endpoint is the picker's (previous hosts: the call state's)
    call.attempts = this.attempts;
    child.start(md, attempt);
    this.armTimer();
    if (!retry) return;
    if (this.messageContext) {
      const flags = this.messageContext.flags;
      child.sendMessageWithContext(flags !== undefined ? { flags } : {}, this.message);
    }
    const queued = this.queued;
    this.queued = undefined;
    if (queued) for (const q of queued) {
      this.replayable = false;
      child.sendMessageWithContext(q.context, q.message);
    }
    if (this.halfClosed) child.halfClose();
    if (this.reading) child.startRead();
  }

  /** @internal called by the attempt's listener */
  onMetadata(attempt: AttemptListener, metadata: Metadata): void {
    if (!this.isLive(attempt)) return;
    attempt.ctx.sawHeaders = true;
    if (this.committed) this.listener?.onReceiveMetadata?.(metadata);
    else attempt.headers = metadata;
  }

  /** @internal called by the attempt's listener */
  onMessage(attempt: AttemptListener, message: unknown): void {
    if (!this.isLive(attempt)) return;
    if (!this.responseStream) {
      attempt.responded = true;
      attempt.response = message;
      return;
    }
    if (!this.committed) {
      this.win(attempt);
      this.flushHeaders(attempt);
    }
    this.call.responseMessages++;
    this.listener?.onReceiveMessage?.(message);
  }

  private flushHeaders(attempt: AttemptListener): void {
    const headers = attempt.headers;
    attempt.headers = undefined;
    if (headers) this.listener?.onReceiveMetadata?.(headers);
  }

  /** @internal called by the attempt's listener */
  onStatus(attempt: AttemptListener, status: StatusObject): void {
    if (!this.isLive(attempt) || this.done) return;
    const ctx = attempt.ctx;
    if (status.code !== Status.OK && !ctx.local && !this.callerCancelled && this.call.routed) {
      const outcome = this.outcomeOf(ctx, status);
      if (status.code === Status.DEADLINE_EXCEEDED && outcome.kind === 'timeout') {
        // grpc-js enforced the call's own deadline (per-try ones are the state's timer).
        if (this.deadline <= this.callerDeadline) this.flag('UT');
      } else {
        const verdict = this.onAttemptResult(attempt, outcome);
        if (verdict === 'retry') return this.armTimer();
        if (verdict === 'wait') return;
      }
    }
    attempt.releaseRetrySlot();
    this.win(attempt);
    this.forget(attempt); // ended: finish() must not cancel it with the others
    this.flushHeaders(attempt);
    if (attempt.responded) {
      if (status.code === Status.OK) this.call.responseMessages++;
      this.listener?.onReceiveMessage?.(attempt.response);
    }
    this.finish(status);
  }

  /** How the attempt ended, as the state sees it: answered ones carry their grpc-status. */
  private outcomeOf(ctx: AttemptContext, status: StatusObject): AttemptOutcome {
    const outcome = ctx.outcome ?? attemptOutcome(status.code, status.metadata, ctx.sawHeaders);
    return outcome.kind === 'response' ? { kind: 'response', status: outcome.status, grpcStatus: status.code } : outcome;
  }

  /** `attempt` answers the call: the others are cancelled. */
  private win(attempt: AttemptListener): void {
    this.call.servedBy = attempt.ctx.endpoint;
    const losers = this.commit(attempt);
    this.armTimer();
    if (losers) this.cancel(losers, Status.CANCELLED, HEDGE_LOST);
  }

  private cancel(attempts: AttemptListener[], code: Status, details: string): void {
    for (const a of attempts) {
      a.releaseRetrySlot();
      a.child.cancelWithStatus(code, details);
    }
  }

  // ---- the one timer ---------------------------------------------------------------------------

  protected override armTimer(): void {
    let at = this.done ? Infinity : this.timerAt();
    if (at === this.callerDeadline && this.grpcEnforcesCallerDeadline()) at = Infinity;
    if (at === Infinity) this.timer?.clear();
    else (this.timer ??= new DeadlineTimer(this, this.call.runtime.clock)).set(at);
  }

  /**
   * grpc-js enforces the caller's deadline on every open attempt (each channel call carries it,
   * and its DEADLINE_EXCEEDED ends the call in onStatus): a timer of ours is needed for it only
   * while none is open (a retry backoff), when the route's deadline is the same or earlier, or
   * when the runtime's clock is not Node's.
   */
  private grpcEnforcesCallerDeadline(): boolean {
    return this.callerDeadline < this.deadline && this.current !== undefined && this.retryAt === Infinity && !this.call.runtime.clock;
  }

  protected override now(): number {
    const clock = this.call?.runtime.clock; // read before the constructor set `call`: the system clock
    return clock ? clock.now() : Date.now();
  }

  protected override startAttempt(): void {
    this.launch();
  }

  protected override abandonAttempt(a: AttemptListener): void {
    a.child.cancelWithStatus(Status.DEADLINE_EXCEEDED, PER_TRY_TIMEOUT);
  }

  // A soft per-try timeout needs nothing here: the attempt runs on, its end is reported by the picker.

  protected override timedOut(): void {
    const open = this.takeAll();
    if (open) this.cancel(open, Status.DEADLINE_EXCEEDED, PER_TRY_TIMEOUT);
    this.finish({ code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded', metadata: newMetadata() });
  }

  private finish(status: StatusObject): void {
    if (this.done) return;
    const open = this.settle();
    this.timer?.clear();
    if (open) this.cancel(open, Status.CANCELLED, HEDGE_LOST);
    const call = this.call;
    if (call.routed) {
      if (this.callerCancelled) call.flag('DC');
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
  // The call itself is the intercepting call grpc-js drives (start, sendMessage, halfClose, …):
  // wrapping it in grpc-js' InterceptingCall cost ~0.6 KB of listener wrappers and closures per
  // call, for a requester we do not have. grpc-js only ever calls its InterceptingCallInterface.
  return (options, nextCall) => new MeshClientCall(options, nextCall, runtime) as unknown as ReturnType<Interceptor>;
}
