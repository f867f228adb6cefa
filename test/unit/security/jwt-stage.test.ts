// The jwt_authn stage: registered in the policy's authn phase only while a config exists, one
// compiled filter per distinct config (kept across pushes), per-port configs with a fallback,
// and the request changes applied to the adapters' native shapes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InboundPolicy, type InboundCall } from '../../../src/security/inbound-policy.js';
import { JwtAuthnStage } from '../../../src/security/jwt/stage.js';
import { filterFor, makeIssuer, requestAuthn, view } from '../../helpers/jwt.js';

describe('JwtAuthnStage', () => {
  it('registers while configured, reuses compiled filters, picks the port\'s config', async () => {
    const a = await makeIssuer('https://a');
    const b = await makeIssuer('https://b');
    const modelA = filterFor([requestAuthn([{ issuer: a.iss, jwks: a.jwks }])]).config;
    const modelB = filterFor([requestAuthn([{ issuer: b.iss, jwks: b.jwks }])]).config;
    const policy = new InboundPolicy();
    const stage = new JwtAuthnStage(policy);
    assert.equal(policy.empty, true);
    stage.updatePorts([[9080, modelA], [9090, modelB]]);
    assert.equal(policy.empty, false, 'in the policy at once, before jose has loaded');
    await stage.ready();
    const fA = stage.current(9080);
    assert.notEqual(fA, stage.current(9090));
    assert.equal(stage.current(7000), fA, 'a port without a listener yet falls back to the first config');
    stage.updatePorts([[9080, structuredClone(modelA)], [9090, modelA]]);
    assert.equal(stage.current(9080), fA, 'the same config again keeps the compiled filter');
    assert.equal(stage.current(9090), fA);
    stage.updatePorts([]);
    assert.equal(policy.empty, true);
    assert.equal(stage.current(9080), undefined);
  });

  it('applies the outcome to an HTTP request and to gRPC metadata', async () => {
    const a = await makeIssuer('https://a');
    const model = filterFor([requestAuthn([{ issuer: a.iss, jwks: a.jwks, outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }] }])]).config;
    const stage = new JwtAuthnStage(new InboundPolicy());
    stage.update(model);
    const token = await a.sign({ sub: 'dana' });
    const req = {
      headers: { authorization: `Bearer ${token}`, 'x-sub': 'mallory', accept: '*/*' } as Record<string, string | string[] | undefined>,
      rawHeaders: ['Authorization', `Bearer ${token}`, 'X-Sub', 'mallory', 'Accept', '*/*'],
      url: `/r?access_token=x&b=2`,
    };
    const v = view({ headers: req.headers as Record<string, string> });
    const call: InboundCall = { view: v, startTime: 0, flags: [], state: {}, native: { kind: 'http', ctx: { req } } };
    assert.equal(await stage.onRequest(call), undefined);
    assert.equal(v.auth?.principal, 'https://a/dana');
    assert.deepEqual(req.headers, { accept: '*/*', 'x-sub': 'dana' });
    assert.deepEqual(req.rawHeaders, ['Accept', '*/*', 'x-sub', 'dana']);
    const md = new Map<string, string>([['authorization', `Bearer ${token}`], ['x-sub', 'mallory']]);
    const metadata = { remove: (k: string) => void md.delete(k), set: (k: string, val: string) => void md.set(k, val) };
    const gv = view({ headers: Object.fromEntries(md), protocol: 'grpc' });
    await stage.onRequest({ view: gv, startTime: 0, flags: [], state: {}, native: { kind: 'grpc', ctx: { metadata } } });
    assert.deepEqual([...md], [['x-sub', 'dana']]);
    const denied = await stage.onRequest({ view: view({ headers: { authorization: 'Bearer x.y.z' } }), startTime: 0, flags: [], state: {}, native: undefined });
    assert.equal(denied?.status, 401);
  });
});

describe('refusal', () => {
  it('keeps the realm a valid quoted-string whatever the Host header held', async () => {
    const { refusal } = await import('../../../src/security/jwt/status.js');
    const v = refusal('JwtExpired', 'http://a"b\\c\r\nx: yé/p', false);
    assert.equal(v.headers?.['www-authenticate'], 'Bearer realm="http://abcx: y/p", error="invalid_token"');
    assert.deepEqual(refusal('JwtAudienceNotAllowed', 'http://h/', true), { status: 403, body: '' });
  });
});

describe('jwtAuthnHttpFilter (the HTTP filter registry runtime)', () => {
  it('compiles an inbound listener\'s jwt_authn entry to an authn-phase stage', async () => {
    const { HttpFilterRegistry } = await import('../../../src/core/filters/registry.js');
    const { jwtAuthnHttpFilter } = await import('../../../src/security/jwt/http-filter.js');
    const { requestAuthnFilter } = await import('../../../src/control/translate/jwt-authn.js');
    const { filterConfig } = await import('../../../src/xds/resources/filters.js');
    const { INBOUND_PHASE } = await import('../../../src/security/inbound-policy.js');
    const a = await makeIssuer('https://a');
    const f = requestAuthnFilter([requestAuthn([{ issuer: a.iss, jwks: a.jwks }])]);
    const config = filterConfig(f?.typed_config, 'x', []);
    assert.ok(config);
    const [compiled] = new HttpFilterRegistry().register(jwtAuthnHttpFilter()).compile([{ name: 'envoy.filters.http.jwt_authn', typeUrl: config.typeUrl, config }]);
    assert.equal(compiled?.inbound?.phase, INBOUND_PHASE.authn);
    const policy = new InboundPolicy();
    policy.use(compiled!.inbound!.stage, compiled!.inbound!.phase);
    const v = view({ headers: { authorization: `Bearer ${await a.sign({ sub: 'erin' })}` } });
    const verdict = await new Promise((resolve) => policy.run({ view: v, startTime: 0, flags: [], state: {}, native: undefined }, resolve));
    assert.equal(verdict, undefined);
    assert.equal(v.auth?.principal, 'https://a/erin');
    const bad = await new Promise<{ status: number } | undefined>((resolve) => policy.run({ view: view({ headers: { authorization: 'Bearer a.b.c' } }), startTime: 0, flags: [], state: {}, native: undefined }, resolve));
    assert.equal(bad?.status, 401);
  });
});
