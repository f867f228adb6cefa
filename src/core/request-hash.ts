/**
 * Route hash policies → the 64-bit request hash, byte for byte as Envoy's Http::HashPolicyImpl
 * computes it (and grpc-js-xds for header policies): each policy that yields a value is
 * xxHash64ed and folded in with `rotl(h, 1) ^ next`; a terminal policy that produced a value
 * stops the walk; no value at all → undefined (the balancer draws a random hash).
 *
 * - header: the values, sorted, hashed as one byte string (Envoy's xxHash64 of a span);
 * - cookie: the cookie's value (surrounding double quotes removed, RFC 6265); when the request
 *   has none and the policy has a `ttl`, a cookie is generated as Envoy's `generateCookie`
 *   does — 16 hex digits of an xxHash64 — hashed, and returned as a `set-cookie` value
 *   (`name="value"; Max-Age=N; Path=p; HttpOnly`) for the adapter to add to the response;
 * - connection source_ip: the caller's address as text;
 * - query_parameter: the first value, not percent-decoded (Envoy parses without decoding).
 */
import { cookieValue } from '../internal/cookie.js';
import type { HashPolicyModel } from './model/index.js';
import { combineHash, randomHash } from './hash.js';
import type { RequestView } from './request.js';
import { hex64, xxh64 } from './xxhash.js';

/** The hash of a request, and the cookie to set when a policy generated one. */
export interface RequestHash {
  readonly hash: bigint | undefined;
  readonly setCookie: string | undefined;
}

const NONE: RequestHash = Object.freeze({ hash: undefined, setCookie: undefined });

function headerValue(req: RequestView, name: string): string | undefined {
  const raw = req.info.headers[name];
  if (Array.isArray(raw)) return raw.length === 0 ? undefined : [...raw].sort().join('');
  return req.header(name);
}

function rawQueryParam(query: string, name: string): string | undefined {
  if (query.length <= 1) return undefined;
  for (const part of query.slice(1).split('&')) {
    const eq = part.indexOf('=');
    if ((eq < 0 ? part : part.slice(0, eq)) === name) return eq < 0 ? '' : part.slice(eq + 1);
  }
  return undefined;
}

/** Envoy's `Http::Utility::makeSetCookieValue` with httponly, as the hash policy calls it. */
export function setCookieValue(name: string, value: string, path: string | undefined, ttlMs: number): string {
  const maxAge = Math.floor(ttlMs / 1000);
  let out = `${name}="${value}"`;
  if (maxAge !== 0) out += `; Max-Age=${maxAge}`;
  if (path) out += `; Path=${path}`;
  return `${out}; HttpOnly`;
}

/** The request hash (undefined when no policy produced a value) and a generated cookie. */
export function requestHash(policies: readonly HashPolicyModel[], req: RequestView, random: () => number): RequestHash {
  let h: bigint | undefined;
  let setCookie: string | undefined;
  for (const p of policies) {
    let v: string | undefined;
    switch (p.kind) {
      case 'header':
        v = headerValue(req, p.name.toLowerCase());
        break;
      case 'cookie':
        v = cookieValue(req.header('cookie'), p.name);
        if ((v === undefined || v === '') && p.ttlMs !== undefined) {
          v = hex64(xxh64(`${req.info.sourceIp ?? ''}${hex64(randomHash(random))}`));
          setCookie = setCookieValue(p.name, v, p.path, p.ttlMs);
        } else if (v === '') v = undefined;
        break;
      case 'connection':
        v = p.sourceIp ? req.info.sourceIp : undefined;
        break;
      case 'query_parameter':
        v = rawQueryParam(req.query, p.name);
        break;
    }
    if (v !== undefined) {
      const ph = xxh64(v);
      h = h === undefined ? ph : combineHash(h, ph);
    }
    if (p.terminal && h !== undefined) break;
  }
  return h === undefined && setCookie === undefined ? NONE : { hash: h, setCookie };
}
