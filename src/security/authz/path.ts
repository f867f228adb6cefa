/**
 * Path normalization for policy matching, and the 400 a refused target gets. The algorithm is
 * core's {@link canonicalRequestPath} (one implementation, also what the app receives): Istio's
 * `DECODE_AND_MERGE_SLASHES`, Envoy's `normalize_path` + `merge_slashes` +
 * `path_with_escaped_slashes_action: UNESCAPE_AND_FORWARD`.
 */
import { canonicalRequestPath, type PathRejection } from '../../core/path.js';
import type { InboundVerdict } from '../../core/inbound.js';

/** Envoy's body for a request whose path cannot be normalized. */
const BAD_PATH: InboundVerdict = Object.freeze({ status: 400, body: 'Bad Request', headers: Object.freeze({ 'x-meshlet-reason': 'invalid-path' }) });

/**
 * Normalizes a request target for authorization and forwarding; a verdict (400) when refused.
 *
 * @example
 * ```ts
 * const r = normalizeForPolicy(req.url ?? '/');
 * if ('status' in r) return reply(r);   // 400
 * view.path = r.path;                   // and the app sees r.path too
 * ```
 */
export function normalizeForPolicy(target: string): { path: string; query: string } | InboundVerdict {
  const r = canonicalRequestPath(target);
  return r.ok ? { path: r.path, query: r.query } : BAD_PATH;
}

export type { PathRejection };
export { canonicalRequestPath };
