/**
 * Where tokens are looked for, following Envoy's jwt_authn Extractor (extractor.cc): each
 * provider's from_headers (with value_prefix), from_params and from_cookies, or, when it names
 * none, `Authorization: Bearer <token>` and the `access_token` query parameter. Each location
 * remembers which issuers configured it, so a token found there may only claim one of those.
 */
import { cookieValue } from '../../internal/cookie.js';
import type { JwtProviderModel } from '../../core/model/index.js';

/** Issuers allowed at one location; '' in the set (a provider without issuer) allows any. */
export class IssuerChecker {
  private readonly issuers = new Set<string>();
  private any = false;
  add(issuer: string): void {
    if (issuer === '') this.any = true;
    else this.issuers.add(issuer);
  }
  check(issuer: string): boolean {
    return this.any || this.issuers.has(issuer);
  }
}

/** A token found in a request, and how to take it out again (`forward: false`). */
export interface JwtLocation {
  readonly token: string;
  readonly issuers: IssuerChecker;
  readonly from: { readonly kind: 'header' | 'param'; readonly name: string } | { readonly kind: 'cookie'; readonly name: string };
}

/** What an extractor reads from a request. */
export interface TokenSource {
  header(name: string): string | undefined;
  /** Raw query string without `?`. */
  readonly query: string;
}

// RFC 4648 §5 plus '.', the characters a compact JWS is made of.
const JWT_CHARS = /[A-Za-z0-9_.-]/;

/** Envoy's extractJWT: from the first JWT character after the prefix to the end of the value. */
function afterPrefix(value: string, from: number): string {
  for (let i = from; i < value.length; i++) if (JWT_CHARS.test(value[i] as string)) return value.slice(i);
  return value;
}

function queryValue(query: string, name: string): string | undefined {
  if (query === '') return undefined;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    let decodedKey: string;
    try {
      decodedKey = decodeURIComponent(key);
    } catch {
      continue;
    }
    if (decodedKey !== name) continue;
    try {
      return decodeURIComponent(eq < 0 ? '' : pair.slice(eq + 1));
    } catch {
      return pair.slice(eq + 1); // an undecodable value stays as sent and fails to parse as a JWT
    }
  }
  return undefined;
}

/** The token locations of one provider or of several, compiled once per config. */
export class Extractor {
  private readonly headers = new Map<string, { name: string; prefix: string; issuers: IssuerChecker }>();
  private readonly params = new Map<string, IssuerChecker>();
  private readonly cookies = new Map<string, IssuerChecker>();
  /** Headers a client must not be able to preset: claim and payload outputs. */
  readonly sanitize: readonly string[];

  constructor(providers: readonly JwtProviderModel[]) {
    const sanitize = new Set<string>();
    for (const p of providers) {
      for (const h of p.fromHeaders) this.addHeader(h.name, h.valuePrefix, p.issuer);
      for (const q of p.fromParams) this.entry(this.params, q).add(p.issuer);
      for (const c of p.fromCookies) this.entry(this.cookies, c).add(p.issuer);
      if (p.fromHeaders.length === 0 && p.fromParams.length === 0 && p.fromCookies.length === 0) {
        this.addHeader('authorization', 'Bearer ', p.issuer);
        this.entry(this.params, 'access_token').add(p.issuer);
      }
      if (p.forwardPayloadHeader) sanitize.add(p.forwardPayloadHeader);
      for (const c of p.claimToHeaders) sanitize.add(c.headerName);
    }
    this.sanitize = [...sanitize];
  }

  private entry(map: Map<string, IssuerChecker>, key: string): IssuerChecker {
    let checker = map.get(key);
    if (!checker) map.set(key, (checker = new IssuerChecker()));
    return checker;
  }

  private addHeader(name: string, prefix: string, issuer: string): void {
    const key = `${name}\0${prefix}`;
    let spec = this.headers.get(key);
    if (!spec) this.headers.set(key, (spec = { name, prefix, issuers: new IssuerChecker() }));
    spec.issuers.add(issuer);
  }

  /**
   * Every token present, headers first, then query parameters, then cookies (Envoy's order).
   *
   * @example
   * ```ts
   * const tokens = new Extractor([provider]).extract(view);
   * ```
   */
  extract(req: TokenSource): JwtLocation[] {
    const out: JwtLocation[] = [];
    for (const spec of this.headers.values()) {
      const value = req.header(spec.name);
      if (value === undefined) continue;
      let token = value;
      if (spec.prefix !== '') {
        const pos = value.indexOf(spec.prefix);
        if (pos < 0) continue;
        token = afterPrefix(value, pos + spec.prefix.length);
      }
      out.push({ token, issuers: spec.issuers, from: { kind: 'header', name: spec.name } });
    }
    for (const [name, issuers] of this.params) {
      const token = queryValue(req.query, name);
      if (token !== undefined) out.push({ token, issuers, from: { kind: 'param', name } });
    }
    if (this.cookies.size > 0) {
      const header = req.header('cookie');
      for (const [name, issuers] of this.cookies) {
        const token = cookieValue(header, name);
        if (token !== undefined) out.push({ token, issuers, from: { kind: 'cookie', name } });
      }
    }
    return out;
  }
}
