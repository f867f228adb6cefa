/**
 * Process-global state of the gRPC adapter. grpc-js registrations (resolver scheme, LB policy)
 * are process-global, and meshlet may be loaded twice (ESM and CJS builds), so everything the
 * registered classes look up lives on `globalThis` under a `Symbol.for` key that both copies
 * share: meshes by id (the `grpc.meshlet.mesh_id` channel option names one). A call's hooks find
 * each other through {@link ATTEMPT}, a shared symbol on objects grpc-js hands along by identity.
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
    r = { meshes: new Map(), registeredWith: new WeakSet(), nextId: 1 };
    g[KEY] = r;
  }
  return r;
}

/**
 * The attempt an object belongs to: the interceptor puts it on an attempt's metadata options
 * object, the ConfigSelector on its CallConfig's pickInformation, and grpc-js passes both on by
 * identity. A property rather than a WeakMap: two WeakMap entries per call made every scavenge
 * walk an ephemeron table of young keys (GC was a quarter of a mesh call's client CPU).
 */
export const ATTEMPT: unique symbol = Symbol.for('meshlet.grpc.attempt') as never;

/** What {@link ATTEMPT} tags. */
export type AttemptTagged = { [ATTEMPT]?: AttemptContext };

/**
 * The attempt `obj` was tagged with, if any.
 *
 * @example
 * ```ts
 * const attempt = attemptOf(metadata.getOptions());
 * ```
 */
export function attemptOf(obj: unknown): AttemptContext | undefined {
  return obj !== null && typeof obj === 'object' ? (obj as AttemptTagged)[ATTEMPT] : undefined;
}
