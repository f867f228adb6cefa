import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TypeState } from '../../../src/xds/ads-state.js';
import { RESOURCE_CODECS, type ResourceCodec } from '../../../src/xds/resources/index.js';
import { messageType } from '../../../src/xds/protos.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';

const Cla = messageType('envoy.config.endpoint.v3.ClusterLoadAssignment');
const cla = (name: string, weight: number) => ({
  type_url: TYPE_URL.endpoint,
  value: Cla.encode(Cla.fromObject({ cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } }, load_balancing_weight: { value: weight } }] }] })).finish(),
});

function counting(): { codec: ResourceCodec<unknown>; decodes: () => number } {
  const real = RESOURCE_CODECS[TYPE_URL.endpoint] as ResourceCodec<unknown>;
  let n = 0;
  return { codec: { ...real, decode: (b) => { n++; return real.decode(b); } }, decodes: () => n };
}

describe('TypeState.apply', () => {
  test('a resource with the bytes already cached is not decoded again, and keeps its model', () => {
    const { codec, decodes } = counting();
    const s = new TypeState<unknown>(TYPE_URL.endpoint, codec);
    s.watchers.set('a', new Set([{ onChange() {} }]));
    s.watchers.set('b', new Set([{ onChange() {} }]));
    const first = s.apply({ version_info: '1', resources: [cla('a', 1), cla('b', 1)] });
    assert.equal(decodes(), 2);
    assert.equal(first.changed.length, 2);
    const model = s.get('a');
    const second = s.apply({ version_info: '2', resources: [cla('a', 1), cla('b', 5)] });
    assert.equal(decodes(), 3, 'only b changed');
    assert.deepEqual(second.changed.map(([n]) => n), ['b']);
    assert.equal(s.get('a'), model);
    assert.equal(second.errorDetail, '');
  });

  test('duplicates are still reported when the bytes are cached', () => {
    const s = new TypeState<unknown>(TYPE_URL.endpoint, RESOURCE_CODECS[TYPE_URL.endpoint] as ResourceCodec<unknown>);
    s.watchers.set('a', new Set([{ onChange() {} }]));
    s.apply({ version_info: '1', resources: [cla('a', 1)] });
    const out = s.apply({ version_info: '2', resources: [cla('a', 1), cla('a', 1)] });
    assert.match(out.errorDetail, /listed more than once/);
  });
});
