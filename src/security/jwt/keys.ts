/**
 * JWT key sets per provider: an inline JWKS through jose's `createLocalJWKSet`, a `jwksUri`
 * through jose's `createRemoteJWKSet` (cache for RemoteJwks.cache_duration, a refetch on an
 * unknown `kid` at most every 30 s, each fetch bounded by the HttpUri timeout). Remote sets live
 * in a {@link JwksCache} on the mesh instance, keyed by URI and settings, so a config push that
 * keeps the same provider keeps its fetched keys. Any failure to get keys fails the token: a
 * JWKS that cannot be fetched or parsed lets nothing through.
 */
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { joseLib } from './jose-lib.js';
import type { JwksSourceModel } from '../../core/model/index.js';

/** Largest JWKS response read; more is a fetch failure (jose itself reads any size). */
export const MAX_JWKS_RESPONSE_BYTES = 1 << 20;

/** A provider's key lookup, or why it has none. */
export type KeySet = { readonly ok: true; readonly getKey: JWTVerifyGetKey } | { readonly ok: false; readonly status: 'JwksParseError' | 'JwksNoValidKeys' };

/** fetch with a cap on the body: a JWKS endpoint returning endless bytes cannot exhaust memory. */
async function boundedFetch(url: string, init: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  if (res.status !== 200 || !res.body) return res;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_JWKS_RESPONSE_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`JWKS response exceeds ${MAX_JWKS_RESPONSE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return new Response(Buffer.concat(chunks), { status: 200, headers: res.headers });
}

/** Inline JWKS text to a key set; bad JSON or a malformed set gives every token a JWKS status. */
export function localKeySet(jwks: string): KeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jwks);
  } catch {
    return { ok: false, status: 'JwksParseError' };
  }
  try {
    return { ok: true, getKey: joseLib().createLocalJWKSet(parsed as JSONWebKeySet) };
  } catch {
    return { ok: false, status: 'JwksNoValidKeys' };
  }
}

/**
 * Remote key sets shared across config pushes.
 *
 * @example
 * ```ts
 * const cache = new JwksCache();
 * const keys = cache.keySet({ kind: 'remote', uri: 'https://issuer/jwks', timeoutMs: 5000, cacheDurationMs: 300_000 });
 * ```
 */
export class JwksCache {
  private readonly remote = new Map<string, JWTVerifyGetKey>();

  /** The key set for a provider's JWKS source; remote ones are reused while their settings hold. */
  keySet(source: JwksSourceModel): KeySet {
    if (source.kind === 'local') return localKeySet(source.jwks);
    const key = `${source.uri}\0${source.timeoutMs}\0${source.cacheDurationMs}`;
    let getKey = this.remote.get(key);
    if (!getKey) {
      const jose = joseLib();
      getKey = jose.createRemoteJWKSet(new URL(source.uri), {
        timeoutDuration: Math.max(1, Math.round(source.timeoutMs)),
        cacheMaxAge: source.cacheDurationMs,
        cooldownDuration: Math.min(30_000, source.cacheDurationMs),
        [jose.customFetch]: boundedFetch,
      });
      this.remote.set(key, getKey);
    }
    return { ok: true, getKey };
  }

  /** Drops remote sets no longer named by the current config (called after each compile). */
  retain(sources: Iterable<JwksSourceModel>): void {
    const keep = new Set<string>();
    for (const s of sources) if (s.kind === 'remote') keep.add(`${s.uri}\0${s.timeoutMs}\0${s.cacheDurationMs}`);
    for (const k of this.remote.keys()) if (!keep.has(k)) this.remote.delete(k);
  }
}
