import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineFor, inboundModel, peerAuthn, policy, SA, view } from '../../../helpers/authz.js';
import { verdictFor } from '../../../../src/security/authz/index.js';

test('no policies: every request allowed, mode PERMISSIVE with a TLS and a plaintext chain', () => {
  const model = inboundModel([]);
  assert.equal(model.mode, 'PERMISSIVE');
  assert.deepEqual(model.chains.map((c) => [c.transportProtocol, c.tls, c.requireClientCertificate]), [['raw_buffer', false, false], ['tls', true, true]]);
  const e = engineFor([]);
  assert.equal(e.check(view()).allowed, true);
  assert.equal(e.check(view({ principal: SA('default', 'x') })).allowed, true);
  assert.equal(e.inboundMode(9080), 'PERMISSIVE');
  assert.equal(e.inboundMode(1234), undefined);
  assert.equal(e.check(view({ port: 1234 })).reason, 'no-policy');
});

test('DENY on a path and method → 403 RBAC: access denied; other paths pass', () => {
  const e = engineFor([policy('deny-admin', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin*'], methods: ['POST'] } }] }] })]);
  const d = e.check(view({ method: 'POST', path: '/admin/users' }));
  assert.equal(d.allowed, false);
  assert.equal(d.reason, 'denied-by-policy');
  assert.equal(d.policy, 'ns[default]-policy[deny-admin]-rule[0]');
  assert.deepEqual(verdictFor(d), { status: 403, body: 'RBAC: access denied' });
  assert.equal(e.check(view({ method: 'GET', path: '/admin/users' })).allowed, true);
  assert.equal(e.check(view({ method: 'POST', path: '/public' })).allowed, true);
  assert.equal(verdictFor(e.check(view())), undefined);
});

test('DENY is evaluated before ALLOW', () => {
  const e = engineFor([
    policy('allow-all-get', { action: 'ALLOW', rules: [{ to: [{ operation: { methods: ['GET'] } }] }] }),
    policy('deny-secret', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/secret'] } }] }] }),
  ]);
  assert.equal(e.check(view({ path: '/secret' })).reason, 'denied-by-policy');
  assert.equal(e.check(view({ path: '/ok' })).allowed, true);
  assert.equal(e.check(view({ path: '/ok' })).policy, 'ns[default]-policy[allow-all-get]-rule[0]');
  assert.equal(e.check(view({ method: 'PUT', path: '/ok' })).reason, 'no-allow-match');
});

test('an ALLOW policy without rules denies all; with one empty rule allows all', () => {
  assert.equal(engineFor([policy('deny-all', {})]).check(view()).reason, 'no-allow-match');
  assert.equal(engineFor([policy('allow-all', { rules: [{}] })]).check(view()).allowed, true);
  // A DENY without rules matches nothing (Istio's match-never policy).
  assert.equal(engineFor([policy('d', { action: 'DENY' })]).check(view()).allowed, true);
});

test('AUDIT marks a request and never denies', () => {
  const e = engineFor([policy('audit', { action: 'AUDIT', rules: [{ to: [{ operation: { paths: ['/x'] } }] }] })]);
  const d = e.check(view({ path: '/x' }));
  assert.equal(d.allowed, true);
  assert.equal(d.audit, 'ns[default]-policy[audit]-rule[0]');
  assert.equal(e.check(view({ path: '/y' })).audit, undefined);
  const both = engineFor([policy('audit', { action: 'AUDIT', rules: [{}] }), policy('deny', { action: 'DENY', rules: [{}] })]).check(view());
  assert.equal(both.allowed, false);
  assert.equal(both.audit, 'ns[default]-policy[audit]-rule[0]');
});

test('principals, notPrincipals and namespaces match the verified SPIFFE ID only', () => {
  const e = engineFor([policy('p', { rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/productpage'] } }, { source: { namespaces: ['prod-*'] } }] }] })]);
  assert.equal(e.check(view({ principal: SA('default', 'productpage') })).allowed, true);
  assert.equal(e.check(view({ principal: SA('default', 'other') })).allowed, false);
  assert.equal(e.check(view({ principal: SA('prod-eu', 'x') })).allowed, true);
  assert.equal(e.check(view({ principal: SA('staging', 'x') })).allowed, false);
  // A header that looks like an identity grants nothing.
  assert.equal(e.check(view({ headers: { 'x-forwarded-client-cert': `URI=${SA('default', 'productpage')}` } })).allowed, false);
  const not = engineFor([policy('n', { rules: [{ from: [{ source: { notPrincipals: ['cluster.local/ns/default/sa/bad'] } }] }] })]);
  assert.equal(not.check(view({ principal: SA('default', 'bad') })).allowed, false);
  assert.equal(not.check(view({ principal: SA('default', 'good') })).allowed, true);
});

test('CVE-2020-16844: principals ["*"] needs an authenticated peer; plaintext never matches', () => {
  const e = engineFor([policy('any-authn', { rules: [{ from: [{ source: { principals: ['*'] } }] }] })]);
  assert.equal(e.check(view({ principal: SA('default', 'x') })).allowed, true);
  assert.equal(e.check(view({ tls: false })).allowed, false);
  assert.equal(e.check(view({ tls: true })).allowed, false);
  const ns = engineFor([policy('ns-any', { rules: [{ from: [{ source: { namespaces: ['*'] } }] }] })]);
  assert.equal(ns.check(view()).allowed, false);
  const deny = engineFor([policy('deny-unauthn', { action: 'DENY', rules: [{ from: [{ source: { notPrincipals: ['*'] } }] }] })]);
  assert.equal(deny.check(view()).allowed, false);
  assert.equal(deny.check(view({ principal: SA('a', 'b') })).allowed, true);
});

test('ipBlocks and remoteIpBlocks match the connection peer (IPv4, IPv6, mapped IPv4); XFF grants nothing', () => {
  const e = engineFor([policy('ip', { rules: [{ from: [{ source: { ipBlocks: ['10.1.0.0/16', '2001:db8::/32'] } }, { source: { remoteIpBlocks: ['192.168.1.7'] } }] }] })]);
  assert.equal(e.check(view({ address: '10.1.2.3' })).allowed, true);
  assert.equal(e.check(view({ address: '::ffff:10.1.9.9' })).allowed, true);
  assert.equal(e.check(view({ address: '10.2.0.1' })).allowed, false);
  assert.equal(e.check(view({ address: '2001:db8:1::5' })).allowed, true);
  assert.equal(e.check(view({ address: '2001:db9::5' })).allowed, false);
  assert.equal(e.check(view({ address: '192.168.1.7' })).allowed, true);
  assert.equal(e.check(view({ address: '172.16.0.1', headers: { 'x-forwarded-for': '192.168.1.7' } })).allowed, false);
  const deny = engineFor([policy('ip', { action: 'DENY', rules: [{ from: [{ source: { notIpBlocks: ['127.0.0.0/8'] } }] }] })]);
  assert.equal(deny.check(view({ address: '127.0.0.1' })).allowed, true);
  assert.equal(deny.check(view({ address: '8.8.8.8' })).allowed, false);
});

test('destination.ip matches this server\'s address on the connection (IPv4, IPv6, mapped IPv4, not)', () => {
  const allow = engineFor([policy('dst', { rules: [{ when: [{ key: 'destination.ip', values: ['10.8.0.0/16', '2001:db8:aa::/48'] }] }] })]);
  assert.equal(allow.check(view({ localAddress: '10.8.3.4' })).allowed, true);
  assert.equal(allow.check(view({ localAddress: '::ffff:10.8.3.4' })).allowed, true);
  assert.equal(allow.check(view({ localAddress: '10.9.0.1' })).allowed, false);
  assert.equal(allow.check(view({ localAddress: '2001:db8:aa:1::9' })).allowed, true);
  assert.equal(allow.check(view({ localAddress: '2001:db8:ab::9' })).allowed, false);
  assert.equal(allow.check(view()).allowed, false, 'an unknown local address matches no range but /0');
  // A DENY on the server's own address fires (it never did while the view had no local address).
  const deny = engineFor([policy('dst', { action: 'DENY', rules: [{ when: [{ key: 'destination.ip', values: ['127.0.0.1'] }] }] })]);
  assert.equal(deny.check(view({ localAddress: '127.0.0.1' })).allowed, false);
  assert.equal(deny.check(view({ localAddress: '127.0.0.2' })).allowed, true);
  const not = engineFor([policy('dst', { action: 'DENY', rules: [{ when: [{ key: 'destination.ip', notValues: ['192.168.0.0/24'] }] }] })]);
  assert.equal(not.check(view({ localAddress: '192.168.0.77' })).allowed, true);
  assert.equal(not.check(view({ localAddress: '192.168.1.77' })).allowed, false);
  assert.equal(engineFor([policy('any', { rules: [{ when: [{ key: 'destination.ip', values: ['0.0.0.0/0'] }] }] })]).check(view()).allowed, true);
});

test('requestPrincipals and request.auth.claims read the verified JWT', () => {
  const e = engineFor([policy('jwt', { rules: [{ from: [{ source: { requestPrincipals: ['https://issuer.example/*'] } }], when: [{ key: 'request.auth.claims[groups]', values: ['admins'] }, { key: 'request.auth.claims[org][team]', values: ['core'] }] }] })]);
  const auth = (claims: Record<string, unknown>) => ({ principal: `${String(claims['iss'])}/${String(claims['sub'])}`, claims });
  assert.equal(e.check(view({ auth: auth({ iss: 'https://issuer.example', sub: 'u1', groups: ['dev', 'admins'], org: { team: 'core' } }) })).allowed, true);
  assert.equal(e.check(view({ auth: auth({ iss: 'https://issuer.example', sub: 'u1', groups: 'admins', org: { team: 'core' } }) })).allowed, true);
  assert.equal(e.check(view({ auth: auth({ iss: 'https://issuer.example', sub: 'u1', groups: ['dev'], org: { team: 'core' } }) })).allowed, false);
  assert.equal(e.check(view({ auth: auth({ iss: 'https://other', sub: 'u1', groups: ['admins'], org: { team: 'core' } }) })).allowed, false);
  assert.equal(e.check(view({})).allowed, false);
  // A missing token passes authentication and is then refused by a policy that needs one.
  const need = engineFor([policy('need-jwt', { action: 'DENY', rules: [{ from: [{ source: { notRequestPrincipals: ['*'] } }] }] })]);
  assert.equal(need.check(view()).allowed, false);
  assert.equal(need.check(view({ auth: auth({ iss: 'i', sub: 's' }) })).allowed, true);
});

test('to: hosts (case-insensitive), ports, methods, notPaths; when: headers, source.*, destination.port, connection.sni', () => {
  const e = engineFor([policy('to', {
    rules: [{
      to: [{ operation: { hosts: ['*.example.com'], ports: ['9080'], methods: ['GET', 'HEAD'], notPaths: ['/private/*'] } }],
      when: [
        { key: 'request.headers[x-tenant]', values: ['acme'] },
        { key: 'source.namespace', values: ['default'] },
        { key: 'source.principal', values: ['cluster.local/ns/default/sa/web'] },
        { key: 'destination.port', values: ['9080'] },
        { key: 'source.ip', notValues: ['10.9.0.0/16'] },
        { key: 'connection.sni', values: ['outbound_.9080_._.reviews.default.svc.cluster.local'] },
      ],
    }],
  })]);
  const ok = { host: 'API.Example.COM', method: 'GET', path: '/a', headers: { 'x-tenant': 'acme' }, principal: SA('default', 'web'), sni: 'outbound_.9080_._.reviews.default.svc.cluster.local' };
  assert.equal(e.check(view(ok)).allowed, true);
  assert.equal(e.check(view({ ...ok, host: 'example.org' })).allowed, false);
  assert.equal(e.check(view({ ...ok, method: 'DELETE' })).allowed, false);
  assert.equal(e.check(view({ ...ok, path: '/private/x' })).allowed, false);
  assert.equal(e.check(view({ ...ok, headers: { 'x-tenant': 'evil' } })).allowed, false);
  assert.equal(e.check(view({ ...ok, principal: SA('other', 'web') })).allowed, false);
  assert.equal(e.check(view({ ...ok, address: '10.9.1.1' })).allowed, false);
  assert.equal(e.check(view({ ...ok, sni: 'x' })).allowed, false);
  const other = engineFor([policy('p', { rules: [{ to: [{ operation: { ports: ['9080'] } }] }] })], 9091);
  assert.equal(other.check(view({ port: 9091 })).allowed, false);
});

test('path templates {*} and {**}', () => {
  const e = engineFor([policy('t', { rules: [{ to: [{ operation: { paths: ['/api/{*}/reviews/{**}'] } }] }] })]);
  assert.equal(e.check(view({ path: '/api/v1/reviews/1' })).allowed, true);
  assert.equal(e.check(view({ path: '/api/v1/reviews/1/2' })).allowed, true);
  assert.equal(e.check(view({ path: '/api/v1/v2/reviews/1' })).allowed, false);
  assert.equal(e.check(view({ path: '/api//reviews/1' })).allowed, false);
});

test('gRPC: methods are POST and paths are /pkg.Service/Method', () => {
  const e = engineFor([policy('g', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/helloworld.Greeter/SayGoodbye'] } }] }] })]);
  assert.equal(e.check(view({ protocol: 'grpc', method: 'POST', path: '/helloworld.Greeter/SayGoodbye' })).allowed, false);
  assert.equal(e.check(view({ protocol: 'grpc', method: 'POST', path: '/helloworld.Greeter/SayHello' })).allowed, true);
});

test('selector and namespace scope: root namespace applies mesh-wide, others only in their namespace', () => {
  const resources = [
    policy('mesh-deny', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/mesh'] } }] }] }, 'istio-system'),
    policy('other-ns', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/other'] } }] }] }, 'other'),
    policy('sel', { action: 'DENY', selector: { matchLabels: { app: 'ratings' } }, rules: [{ to: [{ operation: { paths: ['/sel'] } }] }] }),
  ];
  const reviews = engineFor(resources);
  assert.equal(reviews.check(view({ path: '/mesh' })).allowed, false);
  assert.equal(reviews.check(view({ path: '/other' })).allowed, true);
  assert.equal(reviews.check(view({ path: '/sel' })).allowed, true);
  const ratings = engineFor(resources, 9080, { app: 'ratings' });
  assert.equal(ratings.check(view({ path: '/sel' })).allowed, false);
});

test('CUSTOM policies fail closed (no external authorizer): their rules deny', () => {
  const e = engineFor([policy('c', { action: 'CUSTOM', provider: { name: 'ext' }, rules: [{ to: [{ operation: { paths: ['/ext'] } }] }] })]);
  assert.equal(e.check(view({ path: '/ext' })).allowed, false);
  assert.equal(e.check(view({ path: '/other' })).allowed, true);
});

test('STRICT: only the TLS chain; a plaintext request matches no chain and is refused', () => {
  const e = engineFor([peerAuthn('strict', { mtls: { mode: 'STRICT' } }, 'istio-system')]);
  assert.equal(e.inboundMode(9080), 'STRICT');
  assert.equal(e.check(view({ tls: false })).reason, 'no-filter-chain');
  assert.equal(e.check(view({ principal: SA('default', 'a') })).allowed, true);
});

test('the path index decides exactly as testing every policy in turn', async () => {
  const { AuthzEngine } = await import('../../../../src/security/authz/index.js');
  const { inboundModel } = await import('../../../helpers/authz.js');
  const shapes = (i: number): string[] => [[`/api/v${i % 3}/svc-${i}/*`], [`/exact-${i}`], [`*.${i}.json`], [`/t/{*}/x-${i}`, `/u/${i}/{**}`], [`/p${i}*`]][i % 5] as string[];
  const resources = [];
  for (let i = 0; i < 40; i++) resources.push(policy(`a-${String(i).padStart(2, '0')}`, { rules: [{ to: [{ operation: { paths: shapes(i), methods: i % 4 === 0 ? ['GET'] : ['GET', 'POST'] } }] }] }));
  resources.push(policy('z-no-path', { rules: [{ to: [{ operation: { methods: ['PATCH'] } }] }] }));
  for (let i = 0; i < 12; i++) resources.push(policy(`d-${i}`, { action: 'DENY', rules: [{ to: [{ operation: { paths: [`/api/v${i % 3}/svc-${i}/secret`, `/deny-${i}*`] } }] }] }));
  const model = inboundModel(resources);
  const indexed = AuthzEngine.compile([model]);
  const plain = AuthzEngine.compile([model], { pathIndex: false });
  const parts = ['api', 'v0', 'v1', 'v2', 'svc-3', 'svc-10', 'secret', 'exact-6', 'x.11.json', 't', 'u', 'x-8', '13', 'p9', 'p19x', 'deny-4', 'deny-40', ''];
  let seed = 7;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  let allowed = 0;
  for (let k = 0; k < 5000; k++) {
    let path = '';
    for (let j = 1 + rnd(4); j > 0; j--) path += `/${parts[rnd(parts.length)]}`;
    const v = view({ path, method: ['GET', 'POST', 'PATCH'][rnd(3)] as string });
    const a = indexed.check(v);
    const b = plain.check(v);
    assert.deepEqual(a, b, `${v.method} ${path}`);
    if (a.allowed) allowed++;
  }
  assert.ok(allowed > 100 && allowed < 4900, `both outcomes reached (${allowed} allowed)`);
});

test('serviceAccounts: `sa` in the policy namespace, or `ns/sa`', () => {
  const e = engineFor([policy('sa', { rules: [{ from: [{ source: { serviceAccounts: ['productpage', 'shop/ratings'] } }] }] })]);
  assert.equal(e.check(view({ principal: SA('default', 'productpage') })).allowed, true);
  assert.equal(e.check(view({ principal: SA('shop', 'ratings') })).allowed, true);
  assert.equal(e.check(view({ principal: SA('shop', 'productpage') })).allowed, false);
  assert.equal(e.check(view({ principal: SA('default', 'productpage2') })).allowed, false);
  assert.equal(e.check(view()).allowed, false);
});
