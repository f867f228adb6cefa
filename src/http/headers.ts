/**
 * Header plumbing for the HTTP adapter: undici accepts request headers in several shapes
 * (flat array, array of pairs, iterable, object); the engine wants one lower-case record.
 * Mutations follow Envoy's order: removals first, then additions.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HeaderMutation, ResponseFlag } from '../core/types.js';

/** Lower-case header record, the form the engine and upstream dispatches use. */
export type HeaderRecord = Record<string, string | string[]>;

/**
 * Response header that carries the request's Envoy response flags (only when there are any).
 *
 * @example
 * ```ts
 * const res = await mesh.fetch('http://reviews:9080/');
 * if (res.headers.get(FLAGS_HEADER)?.includes('UO')) console.warn('circuit breaker open');
 * ```
 */
export const FLAGS_HEADER = 'x-meshlet-response-flags';

function str(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  return String(value);
}

function add(out: HeaderRecord, rawName: unknown, rawValue: unknown): void {
  if (rawValue === undefined || rawValue === null) return;
  const name = str(rawName).toLowerCase();
  const prev = out[name];
  if (!Array.isArray(rawValue)) {
    // The common case, one value: no intermediate arrays.
    const value = str(rawValue);
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
    return;
  }
  const values = rawValue.map(str);
  if (prev === undefined) out[name] = values.length === 1 ? (values[0] as string) : values;
  else out[name] = [...(Array.isArray(prev) ? prev : [prev]), ...values];
}

/**
 * Normalizes undici request headers (`['a','1','b','2']`, `[['a','1']]`, `Headers`, a `Map`,
 * or an object) into a fresh lower-case record.
 *
 * @example
 * ```ts
 * normalizeHeaders(['X-User', 'jason']); // { 'x-user': 'jason' }
 * ```
 */
export function normalizeHeaders(headers: unknown): HeaderRecord {
  const out: HeaderRecord = {};
  if (headers === null || headers === undefined) return out;
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown[][]) add(out, pair[0], pair[1]);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) add(out, headers[i], headers[i + 1]);
    }
    return out;
  }
  if (typeof headers === 'object') {
    if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
      for (const pair of headers as Iterable<unknown[]>) add(out, pair[0], pair[1]);
      return out;
    }
    const record = headers as Record<string, unknown>;
    for (const k in record) if (Object.hasOwn(record, k)) add(out, k, record[k]);
  }
  return out;
}

/**
 * Applies a route's header mutation in place: `remove` first, then `set` in order (Envoy).
 *
 * @example
 * ```ts
 * applyMutation(headers, { remove: ['x-debug'], set: [{ name: 'x-env', value: 'prod', action: 'overwrite' }] });
 * ```
 */
export function applyMutation(headers: HeaderRecord | IncomingHttpHeaders, mutation: HeaderMutation): void {
  const h = headers as Record<string, string | string[] | undefined>;
  for (const name of mutation.remove) delete h[name.toLowerCase()];
  for (const { name: rawName, value, action } of mutation.set) {
    const name = rawName.toLowerCase();
    const prev = h[name];
    switch (action) {
      case 'append':
        h[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
        break;
      case 'add_if_absent':
        if (prev === undefined) h[name] = value;
        break;
      case 'overwrite_if_exists':
        if (prev !== undefined) h[name] = value;
        break;
      default:
        h[name] = value;
    }
  }
}

/**
 * Whether a mutation changes anything (lets the hot path skip copying headers).
 *
 * @example
 * ```ts
 * isEmptyMutation({ set: [], remove: [] }); // true
 * ```
 */
export function isEmptyMutation(m: HeaderMutation): boolean {
  return m.set.length === 0 && m.remove.length === 0;
}

/**
 * The response headers handed to the caller: a copy with the route's response mutation and the
 * flags header applied (the upstream's object is left alone; returned as is when nothing applies).
 *
 * @example
 * ```ts
 * responseHeaders({ server: 'x' }, plan.responseHeaders, ['URX']); // { server: 'x', 'x-meshlet-response-flags': 'URX', … }
 * ```
 */
export function responseHeaders(headers: IncomingHttpHeaders, mutation: HeaderMutation | undefined, flags: readonly ResponseFlag[]): IncomingHttpHeaders {
  if ((!mutation || isEmptyMutation(mutation)) && flags.length === 0) return headers;
  const out: IncomingHttpHeaders = { ...headers };
  if (mutation) applyMutation(out, mutation);
  if (flags.length > 0) out[FLAGS_HEADER] = flags.join(',');
  return out;
}

/**
 * Adds a `set-cookie` value to response headers (a copy when `headers` is the upstream's own
 * object): the cookie a hash policy with a ttl generated (Envoy's generateCookie).
 *
 * @example
 * ```ts
 * withSetCookie({ 'set-cookie': 'a=1' }, 'session="7f…"; Max-Age=60; HttpOnly', true);
 * ```
 */
export function withSetCookie(headers: IncomingHttpHeaders, cookie: string, copy: boolean): IncomingHttpHeaders {
  const out = copy ? { ...headers } : headers;
  const prev = out['set-cookie'];
  out['set-cookie'] = prev === undefined ? [cookie] : [...(Array.isArray(prev) ? prev : [prev]), cookie];
  return out;
}

/**
 * Envoy's shadow host: `-shadow` goes before the port.
 *
 * @example
 * ```ts
 * shadowHost('reviews:9080'); // 'reviews-shadow:9080'
 * ```
 */
export function shadowHost(authority: string): string {
  const m = /^(.*?)(:\d+)?$/.exec(authority);
  if (!m) return `${authority}-shadow`;
  return `${m[1] ?? ''}-shadow${m[2] ?? ''}`;
}
