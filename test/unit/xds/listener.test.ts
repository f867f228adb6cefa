import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeListener, validateListener } from '../../../src/xds/resources/listener.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { packAny } from '../../../src/xds/wire/any.js';
import { clusterRoute, encode, faultFilter, inlineListener, rdsListener, routeConfig, routerFilter } from '../../helpers/xds-resources.js';

const validate = (msg: Record<string, unknown>) => validateListener(decodeListener(encode(TYPE_URL.listener, msg)));

test('RDS listener with fault + router filters', () => {
  const r = validate(rdsListener('reviews.default.svc.cluster.local:9080', 'rc-9080', [faultFilter(), routerFilter()]));
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.name, 'reviews.default.svc.cluster.local:9080');
  assert.equal(r.model.routeConfigName, 'rc-9080');
  assert.equal(r.model.routeConfig, undefined);
  assert.ok(r.model.httpFilters.some((f) => f.config.kind === 'fault'), 'the fault filter is in the chain');
  assert.deepEqual(r.model.httpFilters.map((f) => f.config.kind), ['fault', 'router']);
});

test('inline route config is validated with prefixed paths', () => {
  const good = validate(inlineListener('l', routeConfig('inline', [clusterRoute('c1')])));
  assert.ok(good.ok);
  assert.equal(good.model.routeConfig?.virtualHosts[0]?.routes[0]?.action.kind, 'cluster');
  const bad = validate(inlineListener('l', routeConfig('inline', [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a' }] } } }])));
  assert.equal(bad.ok, false);
  assert.ok(!bad.ok && bad.errors.includes('api_listener.api_listener.route_config.virtual_hosts[0].routes[0].route.weighted_clusters: sum of weights is 0'), JSON.stringify(bad));
});

test('collects every listener error with its field path', () => {
  const msg = {
    name: 'l',
    api_listener: {
      api_listener: packAny(TYPE_URL.httpConnectionManager, {
        rds: { route_config_name: '', config_source: { path_config_source: { path: '/x' } } },
        http_filters: [routerFilter(), { name: 'envoy.filters.http.rbac', typed_config: { type_url: 'type.googleapis.com/x.Rbac', value: Buffer.alloc(0) } }],
      }),
    },
  };
  const r = validate(msg);
  assert.equal(r.ok, false);
  assert.equal(r.name, 'l');
  assert.deepEqual(!r.ok && [...r.errors].sort(), [
    'api_listener.api_listener.http_filters[0]: router filter is not last',
    'api_listener.api_listener.http_filters[1].typed_config: unsupported filter type type.googleapis.com/x.Rbac (not marked optional)',
    'api_listener.api_listener.http_filters[1]: last filter is type.googleapis.com/x.Rbac, not the router',
    'api_listener.api_listener.rds.config_source: neither ads nor self set',
    'api_listener.api_listener.rds.route_config_name: empty',
  ]);
});

test('optional unknown filters are tolerated; socket listeners and missing HCM are not', () => {
  const optional = { name: 'x', is_optional: true, typed_config: { type_url: 'type.googleapis.com/x.Y', value: Buffer.alloc(0) } };
  const r = validate(rdsListener('l', 'rc', [optional, routerFilter()]));
  assert.ok(r.ok);
  assert.equal(r.model.httpFilters[0]?.config.kind, 'unsupported');
  const socket = validate({ name: 's', address: { socket_address: { address: '0.0.0.0', port_value: 80 } } });
  assert.deepEqual(!socket.ok && socket.errors, ['api_listener: unset (socket listeners are not supported by a client)']);
  const wrongAny = validate({ name: 'w', api_listener: { api_listener: packAny(TYPE_URL.router, {}) } });
  assert.match(!wrongAny.ok ? wrongAny.errors[0] ?? '' : '', /^api_listener\.api_listener: unexpected type_url .*Router/);
  const noName = validate(rdsListener('', 'rc'));
  assert.equal(noName.ok, false);
  assert.equal(noName.name, undefined);
});

test('top-level fault filter config is validated', () => {
  const bad = validate(rdsListener('l', 'rc', [faultFilter({ abort: { http_status: 700, percentage: { numerator: 5 } } }), routerFilter()]));
  assert.deepEqual(!bad.ok && bad.errors, ['api_listener.api_listener.http_filters[0].typed_config.abort.http_status: 700 is not in [200, 600)']);
});
