/**
 * Decode + validate per resource type, keyed by type URL: the single table the ADS client uses
 * to turn an `Any` into a model.
 */
import { TYPE_URL, type ResourceTypeUrl } from '../type-urls.js';
import type { ResourceModels, ValidationResult } from '../../core/model/index.js';
import { decodeCluster, validateCluster } from './cluster.js';
import { decodeEndpoints, validateEndpoints } from './endpoint.js';
import { decodeListener, validateListener } from './listener.js';
import { decodeRouteConfig, validateRouteConfig } from './route.js';

/** How one resource type is decoded from bytes and validated into its model. */
export interface ResourceCodec<M> {
  decode(bytes: Uint8Array): unknown;
  validate(decoded: unknown): ValidationResult<M>;
  /**
   * State-of-the-world semantics: a resource missing from a response of this type is deleted
   * (LDS, CDS). For RDS and EDS absence means nothing.
   */
  readonly allRequiredInSotW: boolean;
}

type Codecs = { readonly [T in ResourceTypeUrl]: ResourceCodec<ResourceModels[T]> };

/**
 * The codec of every resource type meshlet consumes.
 *
 * @example
 * ```ts
 * const codec = RESOURCE_CODECS[TYPE_URL.cluster];
 * const result = codec.validate(codec.decode(any.value));
 * ```
 */
export const RESOURCE_CODECS: Codecs = {
  [TYPE_URL.listener]: {
    decode: decodeListener,
    validate: (d) => validateListener(d as Parameters<typeof validateListener>[0]),
    allRequiredInSotW: true,
  },
  [TYPE_URL.route]: {
    decode: decodeRouteConfig,
    validate: (d) => validateRouteConfig(d as Parameters<typeof validateRouteConfig>[0]),
    allRequiredInSotW: false,
  },
  [TYPE_URL.cluster]: {
    decode: decodeCluster,
    validate: (d) => validateCluster(d as Parameters<typeof validateCluster>[0]),
    allRequiredInSotW: true,
  },
  [TYPE_URL.endpoint]: {
    decode: decodeEndpoints,
    validate: (d) => validateEndpoints(d as Parameters<typeof validateEndpoints>[0]),
    allRequiredInSotW: false,
  },
};

/** The codec of a type URL, or undefined for a type meshlet does not consume. */
export function codecFor(typeUrl: string): ResourceCodec<ResourceModels[ResourceTypeUrl]> | undefined {
  return (RESOURCE_CODECS as Record<string, ResourceCodec<ResourceModels[ResourceTypeUrl]>>)[typeUrl];
}

export { decodeCluster, validateCluster, ENVOY_CIRCUIT_BREAKER_DEFAULTS } from './cluster.js';
export { decodeEndpoints, validateEndpoints } from './endpoint.js';
export { decodeListener, validateListener } from './listener.js';
export { decodeRouteConfig, validateRouteConfig } from './route.js';
