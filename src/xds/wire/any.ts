/**
 * `google.protobuf.Any` in both directions: a server wraps resource bytes it encoded once, tests
 * and tools pack plain messages, a client reads Anys out of a response and unwraps
 * `envoy.service.discovery.v3.Resource`.
 */
import type { AnyProto } from '../resources/proto-types.js';
import { decode } from './decode.js';
import { encode } from './encode.js';
import { fieldSize, WireReader, writeBytesField } from './primitives.js';

const utf8 = new TextEncoder();

/** Resources may come wrapped in this (for TTLs); the client unwraps them. */
export const RESOURCE_WRAPPER_TYPE_URL = 'type.googleapis.com/envoy.service.discovery.v3.Resource';

/**
 * Encodes `google.protobuf.Any { type_url = 1; value = 2 }` around already encoded message bytes.
 *
 * @example
 * ```ts
 * const any = encodeAny(TYPE_URL.listener, encode('envoy.config.listener.v3.Listener', listener));
 * ```
 */
export function encodeAny(typeUrl: string, value: Uint8Array): Uint8Array {
  const url = utf8.encode(typeUrl);
  const out = new Uint8Array(fieldSize(url.length) + fieldSize(value.length));
  writeBytesField(out, writeBytesField(out, 0, 0x0a, url), 0x12, value);
  return out;
}

/**
 * Packs a plain message object (snake_case, as protobufjs `fromObject` takes it) into an `Any` in
 * object form, ready to nest in another message (Envoy's `typed_config`) or a response.
 *
 * @example
 * ```ts
 * const any = packAny(TYPE_URL.cluster, { name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } });
 * ```
 */
export function packAny(typeUrl: string, message: Record<string, unknown>): { type_url: string; value: Buffer } {
  return { type_url: typeUrl, value: encode(typeUrl.slice(typeUrl.lastIndexOf('/') + 1), message) };
}

/** Reads an `Any` from `r.pos` to `end`; `value` is a view on the input. */
export function readAny(r: WireReader, end: number): AnyProto {
  const any: AnyProto = {};
  while (r.pos < end) {
    const tag = r.varint32();
    switch (tag >>> 3) {
      case 1: r.expect(tag, 2); any.type_url = r.string(); break;
      case 2: r.expect(tag, 2); any.value = r.bytes(); break;
      default: r.skipField(tag & 7);
    }
  }
  if (r.pos !== end) throw new RangeError('Any overruns its length');
  return any;
}

/** Unwraps an envoy.service.discovery.v3.Resource; other Anys are returned as they are. */
export function unwrapResource(any: AnyProto): AnyProto {
  if (any.type_url !== RESOURCE_WRAPPER_TYPE_URL) return any;
  const wrapper = decode<{ resource?: AnyProto }>('envoy.service.discovery.v3.Resource', any.value ?? new Uint8Array());
  return wrapper.resource ?? {};
}
