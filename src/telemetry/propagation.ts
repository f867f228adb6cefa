/**
 * Trace context on the wire: W3C Trace Context (`traceparent`/`tracestate`, what meshlet sends)
 * and Zipkin B3, single `b3` header and the multi-header `x-b3-*` form (what Envoy's and Istio's
 * Zipkin tracer send by default), both accepted. Parsing is bounded (every header over a fixed
 * length is ignored) and regex-free; a malformed header is ignored, never an error: the request
 * then starts a new trace, as Envoy does (W3C Trace Context §3.2.2.7, "restart the trace").
 */
import { randomFillSync } from 'node:crypto';

/** A trace context read from a request, or the decision alone (`b3: 0`). */
export interface IncomingTrace {
  /** 32 lower-case hex digits (a 64-bit B3 id is left-padded with zeros). */
  readonly traceId?: string;
  /** 16 lower-case hex digits: the caller's span, parent of ours. */
  readonly spanId?: string;
  /** The caller's sampling decision; undefined: the caller deferred it (B3 without a decision). */
  readonly sampled?: boolean;
  /** W3C `tracestate`, passed on unchanged. */
  readonly traceState?: string;
}

/** Longest header value read (W3C recommends 512 bytes for tracestate; traceparent is 55). */
export const MAX_TRACE_HEADER = 512;

function isHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function allZero(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 0x30) return false;
  return true;
}

/**
 * Parses W3C `traceparent` (`00-<trace-id>-<parent-id>-<flags>`; later versions: the same
 * prefix, more fields after a `-`). Version `ff`, all-zero ids and upper-case hex are invalid.
 *
 * @example
 * ```ts
 * parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'); // { traceId, spanId, sampled: true }
 * ```
 */
export function parseTraceparent(value: string | undefined, traceState?: string): IncomingTrace | undefined {
  if (value === undefined || value.length < 55 || value.length > MAX_TRACE_HEADER) return undefined;
  const v = value.trim();
  if (v.length < 55 || !isHex(v, 0, 2) || v.startsWith('ff')) return undefined;
  if (v.charCodeAt(2) !== 0x2d || v.charCodeAt(35) !== 0x2d || v.charCodeAt(52) !== 0x2d) return undefined;
  const version00 = v.startsWith('00');
  if (version00 ? v.length !== 55 : v.length > 55 && v.charCodeAt(55) !== 0x2d) return undefined;
  if (!isHex(v, 3, 35) || !isHex(v, 36, 52) || !isHex(v, 53, 55)) return undefined;
  const traceId = v.slice(3, 35);
  const spanId = v.slice(36, 52);
  if (allZero(traceId) || allZero(spanId)) return undefined;
  const flags = parseInt(v.slice(53, 55), 16);
  const state = traceState !== undefined && traceState.length <= MAX_TRACE_HEADER && traceState.trim() !== '' ? traceState.trim() : undefined;
  return { traceId, spanId, sampled: (flags & 1) === 1, ...(state !== undefined ? { traceState: state } : {}) };
}

/** A B3 trace id: 16 or 32 hex digits, returned as 32. */
function b3TraceId(id: string | undefined): string | undefined {
  if (id === undefined || (id.length !== 16 && id.length !== 32) || !isHex(id, 0, id.length) || allZero(id)) return undefined;
  return id.length === 16 ? `0000000000000000${id}` : id;
}

function b3SpanId(id: string | undefined): string | undefined {
  return id !== undefined && id.length === 16 && isHex(id, 0, 16) && !allZero(id) ? id : undefined;
}

/** B3 sampling state: `1`/`d` (debug) sampled, `0` not; `true`/`false` from old multi-header senders. */
function b3Sampled(s: string | undefined): boolean | undefined | null {
  switch (s) {
    case undefined:
    case '':
      return undefined;
    case '1':
    case 'd':
    case 'true':
      return true;
    case '0':
    case 'false':
      return false;
    default:
      return null; // malformed
  }
}

/**
 * Parses the single `b3` header: `{TraceId}-{SpanId}`, `-{SamplingState}`, `-{ParentSpanId}`
 * optional, or a bare sampling state (`0`, `1`, `d`).
 *
 * @example
 * ```ts
 * parseB3Single('80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90');
 * parseB3Single('0'); // { sampled: false }
 * ```
 */
export function parseB3Single(value: string | undefined): IncomingTrace | undefined {
  if (value === undefined || value.length === 0 || value.length > 128) return undefined;
  const v = value.trim().toLowerCase();
  if (v.length <= 1) {
    const sampled = b3Sampled(v);
    return typeof sampled === 'boolean' ? { sampled } : undefined;
  }
  const parts = v.split('-', 5);
  if (parts.length < 2 || parts.length > 4) return undefined;
  const traceId = b3TraceId(parts[0]);
  const spanId = b3SpanId(parts[1]);
  const sampled = b3Sampled(parts[2]);
  if (!traceId || !spanId || sampled === null) return undefined;
  if (parts.length === 4 && !b3SpanId(parts[3])) return undefined;
  return sampled === undefined ? { traceId, spanId } : { traceId, spanId, sampled };
}

/**
 * Parses multi-header B3 (`x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled`, `x-b3-flags`;
 * `x-b3-parentspanid` is not needed: our span's parent is the caller's span).
 *
 * @example
 * ```ts
 * parseB3Multi((name) => req.headers[name] as string | undefined);
 * ```
 */
export function parseB3Multi(header: (name: string) => string | undefined): IncomingTrace | undefined {
  const rawTrace = header('x-b3-traceid');
  const flags = header('x-b3-flags');
  const rawSampled = header('x-b3-sampled');
  let sampled = b3Sampled(rawSampled === undefined || rawSampled.length > 8 ? undefined : rawSampled.trim().toLowerCase());
  if (flags === '1') sampled = true; // debug implies sampled
  if (rawTrace === undefined) return typeof sampled === 'boolean' ? { sampled } : undefined;
  const rawSpan = header('x-b3-spanid');
  const traceId = b3TraceId(rawTrace.length > 32 ? undefined : rawTrace.trim().toLowerCase());
  const spanId = b3SpanId(rawSpan === undefined || rawSpan.length > 16 ? undefined : rawSpan.trim().toLowerCase());
  if (!traceId || !spanId || sampled === null) return undefined;
  return sampled === undefined ? { traceId, spanId } : { traceId, spanId, sampled };
}

/**
 * The trace context of a request: W3C first, then single B3, then multi-header B3 (the first
 * one present and well-formed wins; malformed ones are skipped).
 *
 * @example
 * ```ts
 * const parent = extractTrace((name) => view.header(name));
 * ```
 */
export function extractTrace<T>(header: (this: T, name: string) => string | undefined, self?: T): IncomingTrace | undefined {
  // `self`: the object `header` is a method of (no closure per request on the hot path).
  const tp = header.call(self as T, 'traceparent');
  if (tp !== undefined) {
    const w3c = parseTraceparent(tp, header.call(self as T, 'tracestate'));
    if (w3c) return w3c;
  }
  const b3 = header.call(self as T, 'b3');
  if (b3 !== undefined) {
    const single = parseB3Single(b3);
    if (single) return single;
  }
  if (header.call(self as T, 'x-b3-traceid') === undefined && header.call(self as T, 'x-b3-sampled') === undefined && header.call(self as T, 'x-b3-flags') === undefined) return undefined;
  return parseB3Multi((name) => header.call(self as T, name));
}

/**
 * The W3C `traceparent` of a span.
 *
 * @example
 * ```ts
 * formatTraceparent('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', true); // '00-4bf9…-00f0…-01'
 * ```
 */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

const POOL = Buffer.allocUnsafe(4096);
let poolAt = POOL.length;

/**
 * A random W3C trace id (32 hex) or span id (16 hex), never all zeros: `bytes` random bytes from
 * a pooled buffer (one getrandom per 4 KiB), hex-encoded by Buffer in one native call (a
 * character-by-character concatenation cost ~5× as much and left a rope to flatten later).
 *
 * @example
 * ```ts
 * const traceId = randomId(16);
 * ```
 */
export function randomId(bytes: 8 | 16): string {
  for (;;) {
    if (poolAt + bytes > POOL.length) {
      randomFillSync(POOL);
      poolAt = 0;
    }
    const from = poolAt;
    poolAt += bytes;
    for (let i = from; i < poolAt; i++) if (POOL[i] !== 0) return POOL.toString('hex', from, poolAt);
  }
}

/**
 * The `traceparent` of an unsampled call (flags `00`) under `traceId`, with a fresh span id:
 * what an unsampled call still sends, so nobody downstream samples it.
 *
 * @example
 * ```ts
 * unsampledTraceparent('4bf92f3577b34da6a3ce929d0e0e4736'); // '00-4bf9…-<16 hex>-00'
 * ```
 */
export function unsampledTraceparent(traceId: string): string {
  return `00-${traceId}-${randomId(8)}-00`;
}
