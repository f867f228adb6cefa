/**
 * Process-global state of the gRPC adapter. grpc-js registrations (resolver scheme, LB policy)
 * are process-global, and meshlet may be loaded twice (ESM and CJS builds), so everything the
 * registered classes look up lives on `globalThis` under a `Symbol.for` key that both copies
 * share: meshes by id (the `grpc.meshlet.mesh_id` channel option names one) and the WeakMaps
 * that link a call's hooks together.
 */
import type { AttemptContext } from './call-state.js';
import type { GrpcMeshRuntime } from './types.js';

/** Channel option that names the mesh a `mesh:///` channel routes through. */
export const MESH_ID_OPTION = 'grpc.meshlet.mesh_id';
/** The URI scheme of mesh targets: `mesh:///reviews:9080`. */
export const MESH_SCHEME = 'mesh';
/** Name of the LB policy (service config `loadBalancingConfig: [{ meshlet: {} }]`). */
export const MESH_LB_POLICY = 'meshlet';

/** The shared registry. */
export interface GrpcRegistry {
  readonly meshes: Map<string, GrpcMeshRuntime>;
  /** Metadata options object of an attempt's channel call → the attempt (set by the interceptor). */
  readonly byOptions: WeakMap<object, AttemptContext>;
  /** pickInformation object of a CallConfig → the attempt (set by the ConfigSelector). */
  readonly byPickInfo: WeakMap<object, AttemptContext>;
  /** grpc-js `experimental` objects we registered our resolver and LB policy with. */
  readonly registeredWith: WeakSet<object>;
  nextId: number;
}

const KEY = Symbol.for('meshlet.grpc.registry');

/**
 * The registry, created on first use.
 *
 * @example
 * ```ts
 * registry().meshes.get(options['grpc.meshlet.mesh_id']);
 * ```
 */
export function registry(): GrpcRegistry {
  const g = globalThis as unknown as Record<symbol, GrpcRegistry | undefined>;
  let r = g[KEY];
  if (!r) {
    r = { meshes: new Map(), byOptions: new WeakMap(), byPickInfo: new WeakMap(), registeredWith: new WeakSet(), nextId: 1 };
    g[KEY] = r;
  }
  return r;
}
