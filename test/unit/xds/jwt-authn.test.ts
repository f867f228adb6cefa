// The client's decode + validation of envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication:
// what the control server emits round-trips; anything malformed or unimplemented is NACKed with
// its field path, in a listener too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packAny as encodeAny } from '../../../src/xds/wire/any.js';
import { filterConfig } from '../../../src/xds/resources/filters.js';
import { decodeListener, validateListener } from '../../../src/xds/resources/listener.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { requestAuthnFilter } from '../../../src/control/translate/jwt-authn.js';
import { encode, rdsListener, routerFilter } from '../../helpers/xds-resources.js';
import { requestAuthn } from '../../helpers/jwt.js';
import type { JwtAuthnModel } from '../../../src/core/model/index.js';
import { jwtOf } from '../../../src/security/jwt/stage.js';

const P = 'http_filters[0].typed_config';
function decode(config: Record<string, unknown>): { model?: unknown; errors: string[] } {
  const errors: string[] = [];
  const model = filterConfig(encodeAny(TYPE_URL.jwtAuthn, config), P, errors);
  return { model, errors };
}
const provider = (extra: Record<string, unknown> = {}) => ({ issuer: 'i', local_jwks: { inline_string: '{"keys":[]}' }, ...extra });
const rules = (requires: unknown) => [{ match: { prefix: '/' }, requires }];

describe('jwt_authn decode', () => {
  it('round-trips what the control server emits for a RequestAuthentication', () => {
    const filter = requestAuthnFilter([requestAuthn([{
      issuer: 'https://a', jwksUri: 'https://a/jwks', audiences: ['x'], timeout: '2s', forwardOriginalToken: true,
      fromHeaders: [{ name: 'X-Token', prefix: 'T ' }], fromParams: ['t'], fromCookies: ['c'],
      outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }], outputPayloadToHeader: 'x-payload',
    }])]);
    assert.ok(filter);
    const errors: string[] = [];
    const config = filterConfig(filter.typed_config, P, errors);
    assert.deepEqual(errors, []);
    assert.equal(config?.kind, 'extension');
    assert.equal(config?.typeUrl, TYPE_URL.jwtAuthn);
    if (config?.kind !== 'extension') return;
    const m = config.value as JwtAuthnModel;
    assert.equal(m.bypassCorsPreflight, true);
    assert.deepEqual(m.rules[0]?.match, { kind: 'prefix', value: '/', caseSensitive: true });
    assert.deepEqual(m.rules[0]?.requires, { kind: 'any', requirements: [{ kind: 'provider', provider: 'origins-0' }, { kind: 'allow_missing' }] });
    assert.deepEqual(m.providers['origins-0'], {
      name: 'origins-0', issuer: 'https://a', audiences: ['x'],
      jwks: { kind: 'remote', uri: 'https://a/jwks', timeoutMs: 2000, cacheDurationMs: 300_000 },
      forward: true, fromHeaders: [{ name: 'x-token', valuePrefix: 'T ' }], fromParams: ['t'], fromCookies: ['c'],
      forwardPayloadHeader: 'x-payload', padForwardPayloadHeader: false, claimToHeaders: [{ headerName: 'x-sub', claimName: 'sub' }],
      clockSkewSeconds: 60, requireExpiration: false, jwtCacheSize: 100,
    });
  });

  it('NACKs every problem with its field path', () => {
    const { model, errors } = decode({
      providers: {
        a: { issuer: 'a', local_jwks: { filename: '/etc/jwks.json' } },
        b: { issuer: 'b', remote_jwks: { http_uri: { uri: 'file:///etc/passwd', cluster: 'x', timeout: { seconds: 1 } } } },
        c: { issuer: 'c' },
        d: provider({ from_headers: [{ name: 'bad header' }], claim_to_headers: [{ header_name: 'x-ok', claim_name: '' }], from_params: [''] }),
        e: provider({ subjects: { exact: 'x' } }),
      },
      rules: [
        { match: { prefix: '/' }, requires: { provider_name: 'nope' } },
        { match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'd' }] } } },
        { match: { prefix: '/', headers: [{ name: 'x', present_match: true }] }, requires: { allow_missing: {} } },
        { match: { prefix: '/' }, requirement_name: 'missing' },
        { match: { prefix: '/' }, requires: {} },
      ],
      filter_state_rules: { name: 'x' },
    });
    assert.equal(model, undefined);
    const expected = [
      `${P}.providers[a].local_jwks: filename is not supported (use inline_string)`,
      `${P}.providers[b].remote_jwks.http_uri.uri: "file:///etc/passwd" is not an http(s) URL`,
      `${P}.providers[c]: neither remote_jwks nor local_jwks set`,
      `${P}.providers[d].from_headers[0].name: "bad header" is not a valid header name`,
      `${P}.providers[d].from_params[0]: empty`,
      `${P}.providers[d].claim_to_headers[0].claim_name: empty`,
      `${P}.providers[e].subjects: not supported`,
      `${P}.filter_state_rules: not supported`,
      `${P}.rules[0].requires.provider_name: "nope" is not a configured provider`,
      `${P}.rules[1].requires.requires_any.requirements: 1 entries (2 to 256 allowed)`,
      `${P}.rules[2].match: only path matches are supported (headers, query_parameters, grpc, runtime_fraction are not)`,
      `${P}.rules[3].requirement_name: "missing" is not in requirement_map`,
      `${P}.rules[4].requires: no requirement set`,
    ];
    for (const e of expected) assert.ok(errors.includes(e), `missing ${e} in\n${errors.join('\n')}`);
    assert.equal(errors.length, expected.length, errors.join('\n'));
  });

  it('is not a per-route override', () => {
    const errors: string[] = [];
    const any = encodeAny(TYPE_URL.jwtAuthn, { providers: { p: provider() } });
    assert.equal(filterConfig(any, 'r', errors, false, undefined, true), undefined);
    assert.deepEqual(errors, ['r: a JwtAuthentication is not a per-route config (PerRouteConfig is not supported)']);
  });

  it('bounds nesting depth', () => {
    let req: Record<string, unknown> = { provider_name: 'p' };
    for (let i = 0; i < 12; i++) req = { requires_all: { requirements: [req, { provider_name: 'p' }] } };
    const { errors } = decode({ providers: { p: provider() }, rules: rules(req) });
    assert.ok(errors.some((e) => e.endsWith('nested deeper than 8')), errors.join('\n'));
  });

  it('a listener with jwt_authn before the router validates; a bad one NACKs the listener', () => {
    const jwt = requestAuthnFilter([requestAuthn([{ issuer: 'i', jwks: '{"keys":[]}' }])]);
    const ok = validateListener(decodeListener(encode(TYPE_URL.listener, rdsListener('l', 'rc', [jwt as never, routerFilter()]))));
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.deepEqual(ok.ok && ok.model.httpFilters.map((f) => f.config.kind), ['extension', 'router']);
    assert.ok(ok.ok && jwtOf(ok.model.httpFilters));
    const bad = { name: 'envoy.filters.http.jwt_authn', typed_config: encodeAny(TYPE_URL.jwtAuthn, { providers: { p: { issuer: 'x' } } }) };
    const r = validateListener(decodeListener(encode(TYPE_URL.listener, rdsListener('l', 'rc', [bad, routerFilter()]))));
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.errors.includes('api_listener.api_listener.http_filters[0].typed_config.providers[p]: neither remote_jwks nor local_jwks set'), JSON.stringify(r));
  });
});
