import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeListener, validateListener } from '../../../../src/xds/resources/listener.js';
import { TYPE_URL } from '../../../../src/xds/type-urls.js';
import { packAny as encodeAny } from '../../../../src/xds/wire/index.js';
import { encode, routerFilter } from '../../../helpers/xds-resources.js';
import { inboundListener, parseInboundName } from '../../../../src/control/translate/inbound.js';

type Msg = Record<string, unknown>;
const NAME = 'xds.istio.io/grpc/lds/inbound/0.0.0.0:9080';
const validate = (msg: Msg) => validateListener(decodeListener(encode(TYPE_URL.listener, msg)));

const rbac = (rules: Msg | undefined, name = 'envoy.filters.http.rbac'): Msg => ({ name, typed_config: encodeAny(TYPE_URL.rbac, rules ? { rules } : {}) });
function listener(filters: Msg[], extra: Msg = {}): Msg {
  const hcm = {
    route_config: { name: 'inbound', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, non_forwarding_action: {} }] }] },
    http_filters: filters,
  };
  return {
    name: NAME,
    address: { socket_address: { address: '0.0.0.0', port_value: 9080 } },
    filter_chains: [{ name: 'inbound-plaintext', filters: [{ name: 'hcm', typed_config: encodeAny(TYPE_URL.httpConnectionManager, hcm) }] }],
    ...extra,
  };
}
const policy = (permissions: Msg[], principals: Msg[] = [{ any: true }]): Msg => ({ permissions, principals });

test('a valid inbound listener decodes into chains with RBAC filters; a filter without rules enforces nothing', () => {
  const r = validate(listener([rbac({ action: 'DENY', policies: { b: policy([{ url_path: { path: { exact: '/x' } } }]), a: policy([{ any: true }]) } }, 'envoy.filters.http.rbac.DENY'), rbac(undefined), routerFilter()]));
  assert.ok(r.ok, JSON.stringify(r));
  const inbound = r.model.inbound;
  assert.ok(inbound);
  assert.equal(inbound.port, 9080);
  assert.equal(inbound.mode, 'DISABLE');
  assert.deepEqual(inbound.chains[0]?.rbac.map((f) => [f.name, f.action, f.policies.map((p) => p.name)]), [
    ['envoy.filters.http.rbac.DENY', 'DENY', ['a', 'b']],
    ['envoy.filters.http.rbac', undefined, []],
  ]);
  assert.equal(r.model.httpFilters.length, 0);
});

test('bad RBAC configs are NACKed with field paths', () => {
  const at = (rules: Msg): string[] => {
    const r = validate(listener([rbac(rules), routerFilter()]));
    assert.equal(r.ok, false);
    return r.ok ? [] : [...r.errors];
  };
  const base = 'filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.rules.policies[p]';
  assert.deepEqual(at({ policies: { p: policy([{ url_path: { path: { safe_regex: { regex: '(a' } } } }]) } }).map((e) => e.split(' (RE2')[0]), [`${base}.permissions[0].url_path.path.safe_regex.regex: invalid regex "(a"`]);
  assert.deepEqual(at({ policies: { p: { principals: [{ any: true }] } } }), [`${base}.permissions: empty`]);
  assert.deepEqual(at({ policies: { p: policy([{ and_rules: { rules: [] } }]) } }), [`${base}.permissions[0].and_rules.rules: empty`]);
  assert.deepEqual(at({ policies: { p: policy([{ any: true }], [{ direct_remote_ip: { address_prefix: '10.0.0.300', prefix_len: { value: 8 } } }]) } }), [`${base}.principals[0].direct_remote_ip: address_prefix "10.0.0.300" is not an IP address`]);
  assert.deepEqual(at({ policies: { p: policy([{ any: true }], [{ remote_ip: { address_prefix: '10.0.0.0', prefix_len: { value: 33 } } }]) } }), [`${base}.principals[0].remote_ip: prefix_len 33 is not in [0, 32]`]);
  const tpl = (t: string): Msg => ({ uri_template: { name: 'u', typed_config: encodeAny(TYPE_URL.uriTemplate, { path_template: t }) } });
  assert.deepEqual(at({ policies: { p: policy([tpl('/a/**/b')]) } }), [`${base}.permissions[0].uri_template.typed_config.path_template: ** must be the last operator`]);
  assert.deepEqual(at({ policies: { p: policy([tpl('/a/x*')]) } }), [`${base}.permissions[0].uri_template.typed_config.path_template: segment "x*": * and ** must be whole segments`]);
  assert.deepEqual(at({ policies: { p: { ...policy([{ any: true }]), condition: { id: 1 } } } }), [`${base}: CEL conditions are not supported`]);
});

test('deep nesting is bounded, not a stack overflow', () => {
  let p: Msg = { any: true };
  for (let i = 0; i < 40; i++) p = { not_rule: p };
  const r = validate(listener([rbac({ policies: { p: policy([p]) } }), routerFilter()]));
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.errors.some((e) => e.endsWith('nested deeper than 32')), JSON.stringify(r));
});

test('listener-level errors: address, chains, router last, transport protocol consistency', () => {
  const noAddr = validate({ ...listener([routerFilter()]), address: undefined });
  assert.ok(!noAddr.ok && noAddr.errors.includes('address.socket_address: unset'));
  const noRouter = validate(listener([rbac(undefined)]));
  assert.ok(!noRouter.ok && noRouter.errors.includes('filter_chains[0].filters[0].typed_config.http_filters: the router filter must be last'), JSON.stringify(noRouter));
  const msg = listener([routerFilter()]);
  (msg['filter_chains'] as Msg[])[0]!['filter_chain_match'] = { transport_protocol: 'tls' };
  const tlsless = validate(msg);
  assert.ok(!tlsless.ok && tlsless.errors.includes('filter_chains[0]: transport_protocol tls without a DownstreamTlsContext'), JSON.stringify(tlsless));
  const empty = validate({ ...listener([routerFilter()]), filter_chains: [] });
  assert.ok(!empty.ok && empty.errors.includes('filter_chains: empty'));
});

test('inbound listener names: Istio host:port forms; others are not generated', () => {
  assert.deepEqual(parseInboundName('xds.istio.io/grpc/lds/inbound/[::]:8080'), { host: '::', port: 8080 });
  assert.deepEqual(parseInboundName('xds.istio.io/grpc/lds/inbound/10.0.0.1:80'), { host: '10.0.0.1', port: 80 });
  assert.equal(parseInboundName('xds.istio.io/grpc/lds/inbound/0.0.0.0:0'), undefined);
  assert.equal(parseInboundName('xds.istio.io/grpc/lds/inbound/0.0.0.0'), undefined);
  assert.equal(parseInboundName('reviews:9080'), undefined);
  assert.equal(inboundListener('reviews:9080', [], { namespace: 'default', labels: {} }), undefined);
});
