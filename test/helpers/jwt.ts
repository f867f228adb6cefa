// JWT test kit: issuer keys, token minting with jose, inbound request views, and a filter built
// the real way: RequestAuthentication → control translation (protobuf Any) → client decode and
// validation → runtime.
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { JWTRule, RequestAuthentication } from '../../src/config/types.js';
import type { InboundRequestView } from '../../src/core/inbound.js';
import { requestAuthnFilter } from '../../src/control/translate/jwt-authn.js';
import { filterConfig } from '../../src/xds/resources/filters.js';
import { JwtAuthnFilter } from '../../src/security/jwt/filter.js';
import { JwksCache } from '../../src/security/jwt/keys.js';
import { jwtOf } from '../../src/security/jwt/stage.js';

export interface Issuer {
  readonly iss: string;
  readonly alg: 'ES256' | 'RS256';
  readonly kid: string;
  readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  readonly publicJwk: JWK;
  readonly jwks: string;
  sign(claims?: JWTPayload, header?: Record<string, unknown>): Promise<string>;
}

export async function makeIssuer(iss: string, alg: 'ES256' | 'RS256' = 'ES256', kid = `${alg}-1`): Promise<Issuer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return {
    iss, alg, kid, privateKey, publicJwk,
    jwks: JSON.stringify({ keys: [publicJwk] }),
    sign: (claims = {}, header = {}) => new SignJWT({ sub: 'alice', aud: 'reviews', ...claims })
      .setProtectedHeader({ alg, kid, typ: 'JWT', ...header })
      .setIssuer(claims.iss ?? iss)
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? '1h')
      .sign(privateKey),
  };
}

export function requestAuthn(rules: JWTRule[], name = 'jwt', namespace = 'default', matchLabels?: Record<string, string>): RequestAuthentication {
  return {
    apiVersion: 'security.istio.io/v1', kind: 'RequestAuthentication',
    metadata: { name, namespace },
    spec: { ...(matchLabels ? { selector: { matchLabels } } : {}), jwtRules: rules },
  };
}

/** Translates, encodes, decodes and validates as the control server and a client do. */
export function filterFor(policies: RequestAuthentication[], cache = new JwksCache(), now?: () => number): JwtAuthnFilter {
  const filter = requestAuthnFilter(policies);
  if (!filter) throw new Error('no filter');
  const errors: string[] = [];
  const config = filterConfig(filter.typed_config, 'http_filters[0].typed_config', errors);
  const model = config ? jwtOf([{ name: filter.name, typeUrl: config.typeUrl, config }]) : undefined;
  if (!model) throw new Error(`decode failed: ${errors.join('; ')}`);
  return new JwtAuthnFilter(model, cache, now);
}

export interface ViewInit {
  headers?: Record<string, string>;
  path?: string;
  query?: string;
  method?: string;
  protocol?: 'http' | 'grpc';
}

export function view(init: ViewInit = {}): InboundRequestView {
  const headers = Object.fromEntries(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    protocol: init.protocol ?? 'http',
    peer: { address: '127.0.0.1', port: 50000 },
    tls: false,
    localPort: 9080,
    host: 'reviews.default.svc.cluster.local:9080',
    method: init.method ?? 'GET',
    path: init.path ?? '/reviews/1',
    query: init.query ?? '',
    header: (name) => headers[name],
  };
}

export const bearer = (token: string): ViewInit => ({ headers: { authorization: `Bearer ${token}` } });
