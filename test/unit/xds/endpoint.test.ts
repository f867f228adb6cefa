import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEndpoints, validateEndpoints } from '../../../src/xds/resources/endpoint.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { encode } from '../../helpers/xds-resources.js';

const validate = (msg: Record<string, unknown>) => validateEndpoints(decodeEndpoints(encode(TYPE_URL.endpoint, msg)));

const ep = (address: string, port: number, extra: Record<string, unknown> = {}) => ({ endpoint: { address: { socket_address: { address, port_value: port } } }, ...extra });

test('localities, weights, health and envoy.lb labels', () => {
  const r = validate({
    cluster_name: 'outbound|9080||reviews.default.svc.cluster.local',
    endpoints: [
      { locality: { region: 'us', zone: 'us-1b' }, priority: 1, lb_endpoints: [ep('10.0.0.3', 9080)] },
      {
        locality: { region: 'us', zone: 'us-1a', sub_zone: 'r1' },
        load_balancing_weight: { value: 3 },
        lb_endpoints: [
          ep('10.0.0.1', 9080, { health_status: 'HEALTHY', load_balancing_weight: { value: 2 }, metadata: { filter_metadata: { 'envoy.lb': { fields: { version: { string_value: 'v1' } } } } } }),
          ep('fd00::2', 9080, { health_status: 'DRAINING' }),
        ],
      },
    ],
    policy: { drop_overloads: [{ category: 'throttle', drop_percentage: { numerator: 5 } }] },
  });
  assert.ok(r.ok, JSON.stringify(r));
  const [first, second] = r.model.localities;
  assert.equal(first?.priority, 0); // sorted by priority
  assert.deepEqual(first?.locality, { region: 'us', zone: 'us-1a', subZone: 'r1' });
  assert.equal(first?.weight, 3);
  assert.deepEqual(first?.endpoints[0], {
    address: '10.0.0.1', port: 9080, weight: 2, health: 'HEALTHY', labels: { version: 'v1' }, metadata: { 'envoy.lb': { version: 'v1' } },
  });
  assert.equal(first?.endpoints[1]?.health, 'DRAINING');
  assert.equal(second?.weight, 1);
  assert.equal(second?.endpoints[0]?.health, 'UNKNOWN');
  assert.deepEqual(r.model.dropOverloads, [{ category: 'throttle', fraction: { numerator: 5, denominator: 100 } }]);
});

test('empty assignment is valid (no endpoints yet)', () => {
  const r = validate({ cluster_name: 'c' });
  assert.ok(r.ok && r.model.localities.length === 0);
});

test('collects every endpoint error with its field path', () => {
  const r = validate({
    cluster_name: 'c',
    endpoints: [
      { locality: { region: 'a' }, lb_endpoints: [ep('not-an-ip', 80), ep('10.0.0.1', 0), ep('10.0.0.2', 80), ep('10.0.0.2', 80), { endpoint: {} }] },
      { locality: { region: 'a' }, lb_endpoints: [] },
      { locality: { region: 'b' }, priority: 2, lb_endpoints: [ep('10.0.0.9', 80, { load_balancing_weight: { value: 0 } })] },
    ],
  });
  assert.equal(r.ok, false);
  assert.deepEqual(!r.ok && r.errors, [
    'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: "not-an-ip" is not an IP address',
    'endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value: 0 is not in [1, 65535]',
    'endpoints[0].lb_endpoints[3].endpoint.address.socket_address: 10.0.0.2:80 is listed twice',
    'endpoints[0].lb_endpoints[4].endpoint.address.socket_address: unset',
    'endpoints[1].locality: duplicate of another locality with priority 0',
    'endpoints[2].lb_endpoints[0].load_balancing_weight: must be at least 1',
    'endpoints: priority 2 is used but 1 is not',
  ]);
  const unnamed = validate({ endpoints: [] });
  assert.deepEqual(unnamed, { ok: false, errors: ['cluster_name: empty'] });
});
