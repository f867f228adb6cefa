/**
 * Buffering of streamed request bodies so that retries, hedges and mirrors can resend them, as
 * Envoy's router buffers a body up to its buffer limit. `fetch()` always hands the dispatcher an
 * async iterable, even for a string body; without this its requests could never be retried.
 * Only bodies that declare a small `content-length` are read ahead: an unbounded or large
 * stream still goes out once, unbuffered, exactly as before.
 */
import type { Dispatcher } from 'undici';
import type { CallPlan } from '../core/types.js';
import type { HeaderRecord } from './headers.js';

/** Largest declared body read ahead for resending (Envoy's default buffer limit is 1 MiB; we keep memory per request small). */
export const BODY_BUFFER_LIMIT = 64 * 1024;

/**
 * Whether a body is worth reading ahead: it is a stream or async iterable, its declared
 * `content-length` is at most {@link BODY_BUFFER_LIMIT}, and the route can resend it (retries,
 * or mirrors).
 *
 * @example
 * ```ts
 * shouldBuffer(body, { 'content-length': '12' }, plan); // true for fetch()'s body when the route retries
 * ```
 */
export function shouldBuffer(body: Dispatcher.DispatchOptions['body'], headers: HeaderRecord, plan: CallPlan): boolean {
  if (body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array) return false;
  if (typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') return false;
  if (!((plan.retry && plan.retry.numRetries > 0) || plan.mirrors.length > 0)) return false;
  const declared = headers['content-length'];
  const length = typeof declared === 'string' ? Number(declared) : NaN;
  return Number.isInteger(length) && length >= 0 && length <= BODY_BUFFER_LIMIT;
}

/**
 * Reads a body into one Buffer; rejects when it yields more than `limit` bytes (the declared
 * length was wrong) or when the stream fails.
 *
 * @example
 * ```ts
 * const bytes = await readBody(readable, 1024);
 * ```
 */
export async function readBody(body: AsyncIterable<unknown>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > limit) throw Object.assign(new Error(`request body is longer than its content-length (${limit} bytes)`), { code: 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' });
    chunks.push(buf);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}
