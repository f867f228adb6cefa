// The table-driven codec (src/xds/wire) must give exactly what protobufjs gives — the client's
// validators were written against protobufjs' output — on everything the control server sends,
// on mutated bytes, and for the node a client encodes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/index.js';
import type { Announcement } from '../../../src/control/model.js';
import { mergeAnnouncements, servicesFromConfig } from '../../../src/control/services.js';
import { Snapshot } from '../../../src/control/snapshot.js';
import { translate } from '../../../src/control/translate/index.js';
import { buildNode } from '../../../src/xds/node.js';
import { messageType } from '../../../src/xds/protos.js';
import { TO_OBJECT_OPTIONS } from '../../../src/xds/resources/common.js';
import { messageNameOf, RESOURCE_TYPE_URLS } from '../../../src/xds/type-urls.js';
import { decode } from '../../../src/xds/wire/decode.js';
import { encode } from '../../../src/xds/wire/encode.js';

const viaProtobufjs = (fullName: string, bytes: Uint8Array): unknown => {
  const type = messageType(fullName);
  return type.toObject(type.decode(bytes), TO_OBJECT_OPTIONS);
};

function known(fullName: string): boolean {
  try {
    messageType(fullName);
    return true;
  } catch {
    return false;
  }
}

/** Every Any inside a decoded message, so nested typed configs (HCM, filters) are compared too. */
function anys(value: unknown, out: Array<{ type_url: string; value: Buffer }> = []): typeof out {
  if (Array.isArray(value)) for (const v of value) anys(v, out);
  else if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const o = value as Record<string, unknown>;
    if (typeof o['type_url'] === 'string' && Buffer.isBuffer(o['value'])) out.push(o as never);
    for (const v of Object.values(o)) anys(v, out);
  }
  return out;
}

function bookinfoResources(): Array<{ fullName: string; bytes: Buffer }> {
  const dir = new URL('../../../../shared/istio-samples/bookinfo/', import.meta.url);
  const texts = ['destination-rule-all.yaml', 'virtual-service-reviews-jason-v2-v3.yaml', 'virtual-service-ratings-test-delay.yaml', 'virtual-service-ratings-test-abort.yaml'];
  const extra = readFileSync(new URL('../../../examples/http/config/reviews.yaml', import.meta.url), 'utf8');
  const resources = [...texts.flatMap((f) => parseConfig(readFileSync(new URL(f, dir), 'utf8'), f).resources), ...parseConfig(extra, 'reviews.yaml').resources];
  const announced: Announcement[] = ['productpage', 'details', 'reviews', 'ratings'].flatMap((service, s) =>
    ['v1', 'v2', 'v3'].map((version, v) => ({
      nodeId: `${service}-${version}`, service, namespace: 'default', address: `10.0.${s}.${v + 1}`,
      ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }], labels: { app: service, version }, locality: 'eu/west-1/a',
    })),
  );
  const snapshot = Snapshot.build(translate({ resources, services: mergeAnnouncements(servicesFromConfig(resources), announced) }));
  const out: Array<{ fullName: string; bytes: Buffer }> = [];
  for (const typeUrl of RESOURCE_TYPE_URLS) {
    for (const [, entry] of snapshot.resources(typeUrl)) out.push({ fullName: messageNameOf(typeUrl), bytes: Buffer.from(entry.value) });
  }
  return out;
}

describe('table-driven wire codec', () => {
  const resources = bookinfoResources();

  it('decodes every resource (and every nested Any) of a Bookinfo snapshot as protobufjs does', () => {
    assert.ok(resources.length > 20, `${resources.length} resources`);
    let nested = 0;
    for (const { fullName, bytes } of resources) {
      const ours = decode(fullName, bytes);
      assert.deepStrictEqual(ours, viaProtobufjs(fullName, bytes), fullName);
      for (const any of anys(ours)) {
        const name = messageNameOf(any.type_url);
        if (!known(name)) continue; // e.g. previous_hosts: an empty config neither side decodes
        assert.deepStrictEqual(decode(name, any.value), viaProtobufjs(name, any.value), name);
        nested++;
      }
    }
    assert.ok(nested > 10, `${nested} nested Anys`);
  });

  it('agrees with protobufjs on mutated bytes: same object, or both reject', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    let rejected = 0;
    let stricter = 0;
    for (let i = 0; i < 3000; i++) {
      const { fullName, bytes } = resources[rand(resources.length)]!;
      const b = Buffer.from(bytes);
      for (let k = 1 + rand(3); k > 0; k--) b[rand(b.length)] = rand(256);
      const cut = rand(4) === 0 ? b.subarray(0, rand(b.length + 1)) : b;
      let theirs: unknown;
      let theirError = false;
      try {
        theirs = viaProtobufjs(fullName, cut);
      } catch (e) {
        // protobufjs' toObject crashes (TypeError) on a map entry without its value; we decode
        // it as an empty message. Any other rejection of theirs must be ours too.
        if (e instanceof TypeError) continue;
        theirError = true;
      }
      let ours: unknown;
      try {
        ours = decode(fullName, cut);
      } catch {
        rejected++;
        if (!theirError) {
          stricter++;
        }
        // Stricter is allowed (a sub-message overrunning its length), looser is not.
        continue;
      }
      assert.equal(theirError, false, `protobufjs rejected what we accepted (case ${i}, ${fullName})`);
      assert.deepStrictEqual(ours, theirs, `case ${i}, ${fullName}`);
    }
    console.log(`mutated bytes: ${rejected} of 3000 rejected, ${stricter} only by us (protobufjs clamps overlong strings)`);
    assert.ok(rejected > 100 && rejected < 2900, `${rejected} rejected, ${stricter} only by us`);
  });

  it('encodes a client node byte for byte as protobufjs fromObject + encode', () => {
    const type = messageType('envoy.config.core.v3.Node');
    for (const node of [
      buildNode({ id: 'pure-client' }),
      buildNode({ id: 'reviews-v2', service: 'reviews', namespace: 'bookinfo', labels: { version: 'v2', app: 'reviews' }, serviceAccount: 'bookinfo-reviews', address: '10.0.0.7', ports: [{ number: 9080, name: 'http', protocol: 'HTTP', targetPort: 19080 }], locality: 'eu/west-1/a', draining: true }),
    ]) {
      const ours = encode('envoy.config.core.v3.Node', node as never);
      assert.deepStrictEqual(ours, Buffer.from(type.encode(type.fromObject(node)).finish()));
      assert.deepStrictEqual(decode('envoy.config.core.v3.Node', ours), viaProtobufjs('envoy.config.core.v3.Node', ours));
    }
  });

  it('round-trips what it decodes for every Bookinfo resource', () => {
    for (const { fullName, bytes } of resources) {
      const type = messageType(fullName);
      const object = decode(fullName, bytes);
      // protobufjs' fromObject of the same object is the reference encoding.
      assert.deepStrictEqual(encode(fullName, object), Buffer.from(type.encode(type.fromObject(object)).finish()), fullName);
    }
  });
});
