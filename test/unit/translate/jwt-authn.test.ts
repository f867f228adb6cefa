// RequestAuthentication → jwt_authn config, compared with what Istio's convertToEnvoyJwtConfig
// builds (policy_applier.go), and which policies apply to a workload (getConfigsForWorkload).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jwtAuthenticationConfig, requestAuthnFilter, requestAuthnForWorkload } from '../../../src/control/translate/jwt-authn.js';
import { requestAuthn } from '../../helpers/jwt.js';

describe('RequestAuthentication translation', () => {
  it('one rule: {provider OR allow_missing} on prefix /, CORS bypass, Istio provider fields', () => {
    const c = jwtAuthenticationConfig([requestAuthn([{ issuer: 'https://i', jwksUri: 'https://keys.example.com/jwks', outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }] }])]);
    assert.deepEqual(c, {
      rules: [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'origins-0' }, { allow_missing: {} }] } } }],
      providers: {
        'origins-0': {
          issuer: 'https://i', audiences: [], forward: false, payload_in_metadata: 'payload', jwt_cache_config: { jwt_cache_size: 100 },
          normalize_payload_in_metadata: { space_delimited_claims: ['permission', 'scope'] },
          claim_to_headers: [{ header_name: 'x-sub', claim_name: 'sub' }], from_headers: [], from_params: [], from_cookies: [],
          remote_jwks: {
            http_uri: { uri: 'https://keys.example.com/jwks', cluster: 'outbound|443||keys.example.com', timeout: { seconds: 5, nanos: 0 } },
            cache_duration: { seconds: 300, nanos: 0 },
          },
        },
      },
      bypass_cors_preflight: true,
    });
  });

  it('several rules: sorted by issuer, OR of providers with the AND of {Pi OR allow_missing}', () => {
    const c = jwtAuthenticationConfig([requestAuthn([{ issuer: 'z', jwks: '{}' }]), requestAuthn([{ issuer: 'a', jwks: '{}' }], 'b')]) as Record<string, unknown>;
    const providers = c['providers'] as Record<string, { issuer: string }>;
    assert.deepEqual(Object.keys(providers).map((k) => [k, providers[k]?.issuer]), [['origins-0', 'a'], ['origins-1', 'z']]);
    const opt = (n: string) => ({ requires_any: { requirements: [{ provider_name: n }, { allow_missing: {} }] } });
    assert.deepEqual((c['rules'] as Array<{ requires: unknown }>)[0]?.requires, {
      requires_any: { requirements: [{ provider_name: 'origins-0' }, { provider_name: 'origins-1' }, { requires_all: { requirements: [opt('origins-0'), opt('origins-1')] } }] },
    });
  });

  it('no JWT rules: no filter; a rule without keys fails closed with an empty inline set', () => {
    assert.equal(requestAuthnFilter([requestAuthn([])]), undefined);
    assert.equal(requestAuthnFilter([]), undefined);
    const c = jwtAuthenticationConfig([requestAuthn([{ issuer: 'i' }])]) as { providers: Record<string, { local_jwks?: unknown }> };
    assert.deepEqual(c.providers['origins-0']?.local_jwks, { inline_string: '{"keys":[]}' });
    const f = requestAuthnFilter([requestAuthn([{ issuer: 'i', jwks: '{"keys":[]}' }])]);
    assert.equal(f?.name, 'envoy.filters.http.jwt_authn');
    assert.equal(f?.typed_config.type_url, 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication');
  });

  it('applies the workload namespace and the root namespace, by selector', () => {
    const all = [
      requestAuthn([{ issuer: 'mesh' }], 'mesh', 'istio-system'),
      requestAuthn([{ issuer: 'ns' }], 'ns', 'default'),
      requestAuthn([{ issuer: 'reviews' }], 'reviews', 'default', { app: 'reviews' }),
      requestAuthn([{ issuer: 'other-ns' }], 'x', 'prod'),
      requestAuthn([{ issuer: 'ratings' }], 'ratings', 'default', { app: 'ratings' }),
    ];
    const names = (labels: Record<string, string>, ns = 'default') => requestAuthnForWorkload(all, { namespace: ns, labels }).map((r) => r.metadata.name);
    assert.deepEqual(names({ app: 'reviews', version: 'v1' }), ['mesh', 'ns', 'reviews']);
    assert.deepEqual(names({ app: 'productpage' }), ['mesh', 'ns']);
    assert.deepEqual(names({ app: 'reviews' }, 'prod'), ['mesh', 'x']);
  });
});
