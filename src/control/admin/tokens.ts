import { meshError } from '../../errors.js';
import type { Revocation } from '../ca/revocations.js';

/** What the admin API's token routes call (the control server's CA). */
export interface AdminTokens {
  revoke(what: { token?: string; jti?: string }): Promise<{ revocation?: Revocation; added: boolean; expired?: true }>;
  revoked(): Revocation[];
}

/** Largest body of `POST /tokens/revoke` (a join token is at most 4 KiB). */
export const MAX_REVOKE_BODY = 16 * 1024;

/**
 * The body of `POST /tokens/revoke`: `{ "token": "<join token>" }` or `{ "jti": "<id>" }`.
 * Anything else is MESHLET_ERR_USAGE (the admin API answers 400).
 *
 * @example
 * ```ts
 * parseRevokeBody('{"jti":"d3Vf…"}'); // { jti: 'd3Vf…' }
 * ```
 */
export function parseRevokeBody(text: string): { token: string } | { jti: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw meshError('MESHLET_ERR_USAGE', 'POST /tokens/revoke takes JSON: {"token": "…"} or {"jti": "…"}');
  }
  const b = body as { token?: unknown; jti?: unknown } | null;
  const keys = b && typeof b === 'object' && !Array.isArray(b) ? Object.keys(b) : [];
  if (keys.length === 1 && typeof b!.token === 'string') return { token: b!.token };
  if (keys.length === 1 && typeof b!.jti === 'string') return { jti: b!.jti };
  throw meshError('MESHLET_ERR_USAGE', 'POST /tokens/revoke takes exactly one of {"token": "…"} or {"jti": "…"}');
}
