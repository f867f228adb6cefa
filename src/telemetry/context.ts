/**
 * The inbound request's scope, made active for the app's handler so the calls it makes carry
 * the trace and the `x-request-id` on by themselves (what a sidecar cannot do: there the app
 * must copy the headers). One AsyncLocalStorage, shared by every copy of meshlet in the process
 * (a `Symbol.for` key), holds the scope; when an OpenTelemetry SDK is registered the server
 * span's OTel context is made active as well, so the app's own spans nest under it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventEmitter } from 'node:events';

/** What a handler's outbound calls inherit from the inbound request. */
export interface CallScope {
  /**
   * The inbound request's `x-request-id` (received, or generated when something reads it: an
   * access log, a recorded span, `requestId: true`).
   */
  readonly requestId?: string | undefined;
  /** The server span's ids (present while tracing: sampled or not, so the decision propagates). */
  readonly traceId?: string;
  readonly spanId?: string;
  readonly sampled?: boolean;
  readonly traceState?: string;
  /** The server span's OTel Context (only with an SDK registered and the request sampled). */
  readonly otel?: unknown;
}

interface Shared {
  als: AsyncLocalStorage<CallScope>;
  /** `context.with` of the loaded OTel API, once tracing loaded it. */
  withOtel: ((ctx: unknown, fn: () => unknown) => unknown) | undefined;
}

const KEY = Symbol.for('meshlet.telemetry.scope');
const shared: Shared = ((globalThis as Record<symbol, unknown>)[KEY] as Shared | undefined) ??
  ((globalThis as Record<symbol, unknown>)[KEY] = { als: new AsyncLocalStorage<CallScope>(), withOtel: undefined } as Shared) as Shared;

/** Where an inbound call's scope is kept in `InboundCall.state`. */
export const SCOPE_KEY = 'meshlet.scope';

/**
 * The scope of the inbound request whose handler is running, if any.
 *
 * @example
 * ```ts
 * const id = currentScope()?.requestId;
 * ```
 */
export function currentScope(): CallScope | undefined {
  return shared.als.getStore();
}

/** @internal tracing.ts hands over the API's `context.with` once loaded. */
export function setOtelContextRunner(withOtel: Shared['withOtel']): void {
  shared.withOtel ??= withOtel;
}

/**
 * Runs `fn` with the scope the telemetry stage put in an inbound call's state (the adapters'
 * one hook: the HTTP pipeline around `next()`, the gRPC interceptor around the handler's
 * events); without one it just calls `fn`.
 *
 * @example
 * ```ts
 * runInScope(call.state, next);
 * ```
 */
export function runInScope<T>(state: Record<string, unknown>, fn: () => T): T {
  const scope = state[SCOPE_KEY] as CallScope | undefined;
  if (scope === undefined) return fn();
  const withOtel = shared.withOtel;
  if (scope.otel !== undefined && withOtel !== undefined) return shared.als.run(scope, () => withOtel(scope.otel, fn) as T);
  return shared.als.run(scope, fn);
}

const kBound = Symbol('meshlet.scope.bound');

/**
 * Runs every event `emitter` emits from now on (the request: body parsers read it through
 * `'data'`/`'end'` events, which run in the socket's async context) in the scope in `state`, so
 * a handler they call still has it. One own `emit` per request, whoever added the listeners.
 *
 * @example
 * ```ts
 * bindEmitter(call.state, req);
 * ```
 */
export function bindEmitter(state: Record<string, unknown>, emitter: EventEmitter): void {
  const scope = state[SCOPE_KEY] as CallScope | undefined;
  const e = emitter as EventEmitter & { [kBound]?: true };
  if (scope === undefined || e[kBound]) return;
  e[kBound] = true;
  const emit = e.emit;
  e.emit = function (this: EventEmitter, event: string | symbol, ...args: unknown[]): boolean {
    // Already inside (the handler's own tick): no second run.
    if (shared.als.getStore() === scope) return emit.call(this, event, ...args);
    return runInScope(state, () => emit.call(this, event, ...args));
  } as EventEmitter['emit'];
}

/**
 * The HTTP adapter's hook: binds the request's later listeners to the scope and runs the
 * handler in it (just `fn()` when the request has no scope).
 *
 * @example
 * ```ts
 * runHandlerInScope(call.state, req, next);
 * ```
 */
export function runHandlerInScope(state: Record<string, unknown>, emitter: EventEmitter, fn: () => void): void {
  if (state[SCOPE_KEY] === undefined) return fn();
  bindEmitter(state, emitter);
  runInScope(state, fn);
}
