import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRouteConfig, validateRouteConfig } from '../../../src/xds/resources/route.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { packAny } from '../../../src/xds/wire/any.js';
import { encode, routeConfig } from '../../helpers/xds-resources.js';

const validate = (msg: Record<string, unknown>) => validateRouteConfig(decodeRouteConfig(encode(TYPE_URL.route, msg)));

test('full-featured route becomes one compiled RouteModel', () => {
  const fault = packAny(TYPE_URL.fault, {
    delay: { fixed_delay: { seconds: 1, nanos: 500_000_000 }, percentage: { numerator: 25, denominator: 'TEN_THOUSAND' } },
    abort: { grpc_status: 14, percentage: { numerator: 200 } },
  });
  const r = validate({
    name: 'rc',
    request_headers_to_add: [{ header: { key: 'X-Global', value: 'g' } }],
    virtual_hosts: [{
      name: 'reviews',
      domains: ['reviews', 'reviews.default.svc.cluster.local:9080', '*.reviews'],
      request_headers_to_add: [{ header: { key: 'x-vh', value: 'v' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      retry_policy: { retry_on: '5xx, connect-failure', num_retries: { value: 2 } },
      routes: [{
        name: 'r0',
        match: {
          safe_regex: { regex: '/reviews/[0-9]+' },
          headers: [
            { name: 'End-User', string_match: { exact: 'Jason', ignore_case: true } },
            { name: 'x-canary', present_match: true, invert_match: true },
            { name: 'x-n', range_match: { start: 1, end: 10 } },
          ],
          query_parameters: [{ name: 'debug', present_match: true }],
          runtime_fraction: { default_value: { numerator: 50 } },
        },
        route: {
          weighted_clusters: { clusters: [
            { name: 'outbound|9080|v1|reviews', weight: { value: 80 } },
            { name: 'outbound|9080|v2|reviews', weight: { value: 20 } },
            { name: 'zero', weight: { value: 0 } },
          ] },
          timeout: { seconds: 3 },
          retry_policy: { retry_on: 'unavailable', per_try_timeout: { nanos: 250_000_000 }, retry_back_off: { base_interval: { nanos: 10_000_000 } } },
          hash_policy: [{ header: { header_name: 'X-User' }, terminal: true }, { connection_properties: { source_ip: true } }],
          prefix_rewrite: '/v2/',
          host_rewrite_literal: 'reviews.internal',
          request_mirror_policies: [{ cluster: 'shadow', runtime_fraction: { default_value: { numerator: 10 } } }],
        },
        typed_per_filter_config: { 'envoy.filters.http.fault': fault },
      }],
    }],
  });
  assert.ok(r.ok, JSON.stringify(r));
  const vh = r.model.virtualHosts[0];
  const route = vh?.routes[0];
  assert.ok(route);
  assert.equal(route.match.path.kind, 'regex');
  assert.ok(route.match.path.kind === 'regex' && route.match.path.regex.test('/reviews/12') && !route.match.path.regex.test('/reviews/12/x'));
  assert.deepEqual(route.match.headers.map((h) => [h.name, h.kind, h.invert]), [['end-user', 'exact', false], ['x-canary', 'present', true], ['x-n', 'range', false]]);
  assert.deepEqual(route.match.fraction, { numerator: 50, denominator: 100 });
  assert.deepEqual(route.action, { kind: 'weighted', totalWeight: 100, clusters: [
    { name: 'outbound|9080|v1|reviews', weight: 80, fault: route.fault }, { name: 'outbound|9080|v2|reviews', weight: 20, fault: route.fault },
  ] });
  assert.equal(route.timeoutMs, 3000);
  assert.deepEqual(route.retryPolicy, { retryOn: ['unavailable'], numRetries: 1, perTryTimeoutMs: 250, backoff: { baseMs: 10, maxMs: 100 }, retriableStatusCodes: [] });
  assert.deepEqual(route.fault, {
    delay: { kind: 'fixed', delayMs: 1500, fraction: { numerator: 25, denominator: 10_000 } },
    abort: { kind: 'grpc', grpcStatus: 14, fraction: { numerator: 100, denominator: 100 } },
  });
  assert.deepEqual(route.hashPolicy, [{ kind: 'header', name: 'x-user', terminal: true }, { kind: 'connection', sourceIp: true, terminal: false }]);
  assert.deepEqual(route.requestHeadersToAdd.map((h) => [h.name, h.action]), [['x-global', 'append'], ['x-vh', 'overwrite']]);
  assert.equal(route.prefixRewrite, '/v2/');
  assert.equal(route.hostRewrite, 'reviews.internal');
  assert.deepEqual(route.mirrors, [{ cluster: 'shadow', fraction: { numerator: 10, denominator: 100 } }]);
  // Virtual-host retry policy is inherited only by routes without their own.
  assert.deepEqual(vh?.retryPolicy?.retryOn, ['5xx', 'connect-failure']);
});

test('redirect, direct response and non-forwarding actions', () => {
  const r = validate(routeConfig('rc', [
    { match: { path: '/old' }, redirect: { https_redirect: true, path_redirect: '/new', response_code: 'PERMANENT_REDIRECT' } },
    { match: { prefix: '/health', case_sensitive: { value: false } }, direct_response: { status: 200, body: { inline_string: 'ok' } } },
    { match: { path_separated_prefix: '/api' }, non_forwarding_action: {} },
  ]));
  assert.ok(r.ok, JSON.stringify(r));
  const routes = r.model.virtualHosts[0]?.routes ?? [];
  assert.deepEqual(routes[0]?.action, { kind: 'redirect', redirect: { scheme: 'https', path: '/new', status: 308, stripQuery: false } });
  assert.deepEqual(routes[1]?.action, { kind: 'direct', status: 200, body: 'ok' });
  assert.deepEqual(routes[1]?.match.path, { kind: 'prefix', value: '/health', caseSensitive: false });
  assert.deepEqual(routes[2]?.action, { kind: 'non_forwarding' });
  assert.equal(routes[0]?.timeoutMs, undefined);
});

test('collects every route error with its field path', () => {
  const r = validate({
    name: 'rc',
    virtual_hosts: [
      {
        name: 'a', domains: ['a.*.com', '*'],
        routes: [
          { match: { prefix: '/' }, route: { cluster: 'c' } },
          { match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_back_off: { base_interval: { seconds: 2 }, max_interval: { seconds: 1 } } } } },
          { match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'x', weight: { value: 0 } }] } } },
          { match: { safe_regex: { regex: '(' } }, route: { cluster: 'c' } },
          { route: { cluster: 'c' } },
          { match: { prefix: '/', headers: [{ name: 'x', range_match: { start: 5, end: 1 } }] }, direct_response: { status: 99 } },
        ],
      },
      { name: 'b', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', timeout: { seconds: -1 } } }] },
    ],
  });
  assert.equal(r.ok, false);
  assert.equal(r.name, 'rc');
  const errors = !r.ok ? r.errors : [];
  const expected = [
    'virtual_hosts[0].domains[0]: "a.*.com" has a wildcard in the middle',
    'virtual_hosts[0].routes[1].route.retry_policy.retry_back_off.max_interval: 1000ms is below base_interval 2000ms',
    'virtual_hosts[0].routes[2].route.weighted_clusters: sum of weights is 0',
    'virtual_hosts[0].routes[4].match: unset',
    'virtual_hosts[0].routes[5].match.headers[0].range_match: start 5 must be below end 1',
    'virtual_hosts[0].routes[5].direct_response.status: 99 is not in [200, 600)',
    'virtual_hosts[1].domains[0]: "*" is also a domain of virtual_hosts[0]',
    'virtual_hosts[1].routes[0].route.timeout: duration out of range (-1s 0ns)',
  ];
  for (const e of expected) assert.ok(errors.includes(e), `missing ${e}\n got ${JSON.stringify(errors, null, 1)}`);
  assert.ok(errors.some((e) => e.startsWith('virtual_hosts[0].routes[3].match.safe_regex.regex: invalid regex "("')));
  assert.equal(errors.length, expected.length + 1);
});

test('per-filter fault override keyed by any name, wrapped in FilterConfig, and disabled', () => {
  const fault = packAny(TYPE_URL.fault, { abort: { http_status: 503, percentage: { numerator: 1, denominator: 'MILLION' } } });
  const wrapped = packAny('type.googleapis.com/envoy.config.route.v3.FilterConfig', { config: fault });
  const disabled = packAny('type.googleapis.com/envoy.config.route.v3.FilterConfig', { config: fault, disabled: true });
  const r = validate(routeConfig('rc', [
    { match: { prefix: '/a' }, route: { cluster: 'c' }, typed_per_filter_config: { 'my-fault': fault } },
    { match: { prefix: '/b' }, route: { cluster: 'c' }, typed_per_filter_config: { 'envoy.filters.http.fault': wrapped } },
    { match: { prefix: '/c' }, route: { cluster: 'c' }, typed_per_filter_config: { 'envoy.filters.http.fault': disabled } },
  ]));
  assert.ok(r.ok, JSON.stringify(r));
  const [a, b, c] = r.model.virtualHosts[0]?.routes ?? [];
  const abort = { kind: 'http', httpStatus: 503, fraction: { numerator: 1, denominator: 1_000_000 } };
  assert.deepEqual(a?.fault?.abort, abort);
  assert.deepEqual(b?.fault?.abort, abort);
  assert.equal(c?.fault, undefined);
});

test('hedge_policy: the route policy replaces the virtual host one; initial_requests below 1 is NACKed', () => {
  const r = validate({
    name: 'rc',
    virtual_hosts: [{
      name: 'vh', domains: ['*'],
      hedge_policy: { hedge_on_per_try_timeout: true },
      routes: [
        { match: { prefix: '/inherit' }, route: { cluster: 'c' } },
        { match: { prefix: '/off' }, route: { cluster: 'c', hedge_policy: { initial_requests: { value: 1 } } } },
        { match: { prefix: '/' }, route: { cluster: 'c', hedge_policy: { hedge_on_per_try_timeout: true, additional_request_chance: { numerator: 5 } } } },
      ],
    }],
  });
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.model.virtualHosts[0]?.routes.map((x) => x.hedgeOnPerTryTimeout), [true, undefined, true]);
  const bad = validate(routeConfig('rc', [{ match: { prefix: '/' }, route: { cluster: 'c', hedge_policy: { initial_requests: { value: 0 } } } }]));
  assert.equal(bad.ok, false);
  assert.deepEqual(!bad.ok ? bad.errors : [], ['virtual_hosts[0].routes[0].route.hedge_policy.initial_requests: 0 is below 1']);
});
