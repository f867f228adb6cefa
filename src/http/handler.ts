/**
 * Handler plumbing shared by the dispatcher and the call handler: callers may hand us undici's
 * legacy handler (`onConnect/onHeaders/onData/onComplete/onError`, what `fetch` and
 * `undici.request` still use) or the current one (`onRequestStart/onResponseStart/…`). Inside,
 * everything speaks the current API.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { trace } from '../internal/debug.js';

const log = trace('mesh');

export type DispatchHandler = Dispatcher.DispatchHandler;
export type DispatchController = Dispatcher.DispatchController;

function rawPairs(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Buffer[] {
  const raw: Buffer[] = [];
  for (const [key, val] of Object.entries(headers)) {
    if (val === undefined) continue;
    if (Array.isArray(val)) for (const v of val) raw.push(Buffer.from(key, 'latin1'), Buffer.from(v, 'latin1'));
    else raw.push(Buffer.from(key, 'latin1'), Buffer.from(String(val), 'latin1'));
  }
  return raw;
}

/**
 * The raw header (or trailer) list a controller carries, as undici's own controllers and
 * {@link CallerController} do; null when it has none.
 *
 * @example
 * ```ts
 * rawOf(controller, 'rawHeaders'); // [Buffer<'content-type'>, Buffer<'text/plain'>, …] or null
 * ```
 */
export function rawOf(controller: unknown, field: 'rawHeaders' | 'rawTrailers'): Buffer[] | null {
  const raw = (controller as Record<string, unknown> | undefined)?.[field];
  return Array.isArray(raw) ? (raw as Buffer[]) : null;
}

/** Presents a legacy undici handler through the current handler API (like undici's WrapHandler). */
class LegacyHandler implements DispatchHandler {
  constructor(private readonly h: DispatchHandler) {}

  onRequestStart(controller: DispatchController, context: unknown): void {
    (this.h.onConnect as ((abort: (err?: Error) => void, ctx: unknown) => void) | undefined)?.(
      (reason?: Error) => controller.abort(reason ?? new Error('aborted')),
      context,
    );
  }

  onRequestUpgrade(_controller: DispatchController, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    this.h.onUpgrade?.(statusCode, rawPairs(headers), socket);
  }

  onResponseStart(controller: DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.h.onResponseStarted?.();
    // The upstream's own raw headers when they reach the caller unchanged (undici's controllers
    // carry them the same way): no re-encoding, duplicates and case kept.
    const raw = rawOf(controller, 'rawHeaders') ?? rawPairs(headers);
    if (this.h.onHeaders?.(statusCode, raw, () => controller.resume(), statusMessage ?? '') === false) controller.pause();
  }

  onResponseData(controller: DispatchController, chunk: Buffer): void {
    if (this.h.onData?.(chunk) === false) controller.pause();
  }

  onResponseEnd(controller: DispatchController, trailers: IncomingHttpHeaders): void {
    const raw = rawOf(controller, 'rawTrailers') ?? rawPairs(trailers ?? {});
    (this.h.onComplete as ((t: Buffer[]) => void) | undefined)?.(raw);
  }

  onResponseError(_controller: DispatchController, err: Error): void {
    this.h.onError?.(err);
  }
}

/**
 * Returns a handler speaking the current undici API, wrapping a legacy one.
 *
 * @example
 * ```ts
 * const h = toCurrentHandler(handlerFromFetch);
 * h.onResponseStart?.(controller, 200, { 'content-type': 'text/plain' }, 'OK');
 * ```
 */
export function toCurrentHandler(handler: DispatchHandler): DispatchHandler {
  return typeof handler.onRequestStart === 'function' ? handler : new LegacyHandler(handler);
}

/**
 * Whether `handler` reads the raw header list its controller carries and ignores the parsed
 * object (the legacy handlers `undici.request`/`fetch` pass, as wrapped by toCurrentHandler):
 * then the response headers need not be parsed at all when nothing rewrites them.
 *
 * @example
 * ```ts
 * readsRawHeaders(toCurrentHandler({ onHeaders() { return true }, onData() { return true }, onComplete() {}, onError() {} })); // true
 * ```
 */
export function readsRawHeaders(handler: DispatchHandler): boolean {
  return handler instanceof LegacyHandler;
}

/** The headers object handed to a handler that reads only the raw list (see {@link readsRawHeaders}). */
export const RAW_ONLY: IncomingHttpHeaders = Object.freeze({}) as IncomingHttpHeaders;

/**
 * Calls a caller's handler method, catching what it throws: a throwing user handler must not
 * take the mesh (or the event loop) down with it.
 *
 * @example
 * ```ts
 * safely(() => handler.onResponseData?.(controller, chunk));
 * ```
 */
export function safely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    swallowed(err);
  }
}

/**
 * Logs what a caller's handler threw and carries on (the catch of {@link safely}, for hot paths
 * that inline their try/catch instead of allocating a closure).
 *
 * @example
 * ```ts
 * try { handler.onResponseData?.(controller, chunk); } catch (err) { swallowed(err); }
 * ```
 */
export function swallowed(err: unknown): void {
  log('handler threw: %o', err);
}

/** Where a {@link CallerController} forwards the caller's abort/pause/resume. */
export interface ControllerHooks {
  onCallerAbort(reason: Error): void;
  onCallerPause(): void;
  onCallerResume(): void;
}

/**
 * The controller a caller gets from us in `onRequestStart`: abort/pause/resume are forwarded to
 * whichever upstream attempt is current. Like undici's own controllers it carries the raw
 * response headers and trailers when they are passed on unchanged (null otherwise).
 *
 * @example
 * ```ts
 * const controller = new CallerController({ onCallerAbort: (r) => call.abort(r), onCallerPause() {}, onCallerResume() {} });
 * handler.onRequestStart?.(controller, {});
 * ```
 */
export class CallerController implements DispatchController {
  rawHeaders: Buffer[] | null = null;
  rawTrailers: Buffer[] | null = null;
  private abortedReason: Error | null = null;
  private isPaused = false;

  constructor(private readonly hooks: ControllerHooks) {}

  get aborted(): boolean {
    return this.abortedReason !== null;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  get reason(): Error | null {
    return this.abortedReason;
  }

  abort(reason: Error): void {
    if (this.abortedReason !== null) return;
    this.abortedReason = reason ?? new Error('aborted');
    this.hooks.onCallerAbort(this.abortedReason);
  }

  pause(): void {
    this.isPaused = true;
    this.hooks.onCallerPause();
  }

  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    this.hooks.onCallerResume();
  }
}

const NOOP_HOOKS: ControllerHooks = { onCallerAbort() {}, onCallerPause() {}, onCallerResume() {} };

/**
 * Sends a locally generated response (Envoy's "local reply") to a handler: onRequestStart,
 * onResponseStart, the body, onResponseEnd — asynchronously, as real I/O would: in a later turn
 * of the event loop (setImmediate), never in a microtask. A caller awaiting local replies back
 * to back (a 503 UH loop) must still let timers and sockets run, or the xDS update that would
 * end the 503s is never read.
 *
 * @example
 * ```ts
 * localReply(handler, 503, 'no healthy upstream', { 'x-meshlet-response-flags': 'UH' });
 * ```
 */
export function localReply(
  handler: DispatchHandler,
  status: number,
  body: string | undefined,
  headers: IncomingHttpHeaders = {},
  controller?: CallerController,
  started = false,
): void {
  const ctl = controller ?? new CallerController(NOOP_HOOKS);
  const send = (): void => {
    if (!started) safely(() => handler.onRequestStart?.(ctl, {}));
    if (ctl.aborted) return void safely(() => handler.onResponseError?.(ctl, ctl.reason as Error));
    const bytes = body === undefined ? undefined : Buffer.from(body, 'utf8');
    const out: IncomingHttpHeaders = { ...headers };
    if (bytes) {
      out['content-type'] ??= 'text/plain';
      out['content-length'] = String(bytes.length);
    } else out['content-length'] = '0';
    safely(() => handler.onResponseStart?.(ctl, status, out, statusText(status)));
    if (ctl.aborted) return void safely(() => handler.onResponseError?.(ctl, ctl.reason as Error));
    if (bytes && bytes.length > 0) safely(() => handler.onResponseData?.(ctl, bytes));
    if (ctl.aborted) return void safely(() => handler.onResponseError?.(ctl, ctl.reason as Error));
    safely(() => handler.onResponseEnd?.(ctl, {}));
  };
  setImmediate(send);
}

/**
 * Sends an error to a handler (after onRequestStart, in a later turn of the event loop like
 * {@link localReply}): how the dispatcher fails a request without throwing.
 *
 * @example
 * ```ts
 * localError(handler, meshError('MESHLET_ERR_CLOSED', 'mesh dispatcher used after close()'));
 * ```
 */
export function localError(handler: DispatchHandler, err: Error): void {
  const ctl = new CallerController(NOOP_HOOKS);
  setImmediate(() => {
    safely(() => handler.onRequestStart?.(ctl, {}));
    safely(() => handler.onResponseError?.(ctl, err));
  });
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 307: 'Temporary Redirect',
  308: 'Permanent Redirect', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

function statusText(status: number): string {
  return STATUS_TEXT[status] ?? '';
}
