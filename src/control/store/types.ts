import type { Diagnostic, IstioResource, ResourceKind } from '../../config/types.js';
import type { Disposable } from '../../internal/events.js';

/**
 * Where the control server keeps Istio configuration. Small on purpose so other backends (etcd,
 * Kubernetes) can implement it: everything is async except reads, which serve an in-memory view
 * that the backend keeps current (an etcd backend would fill it from a watch).
 *
 * Contract:
 * - `list()` is deterministic: resources sorted by `Kind/namespace/name`, one per key.
 * - `apply()` upserts by key (`kubectl apply` semantics); it never validates: callers pass
 *   resources that `parseConfig` accepted.
 * - `onChange` fires after the view changed (possibly coalesced); listeners re-read `list()`.
 *
 * @example
 * ```ts
 * const store: ConfigStore = new MemoryStore();
 * await store.start();
 * store.onChange(() => console.log(store.list().length));
 * await store.apply(parseConfig(yamlText, 'vs.yaml').resources, 'vs.yaml');
 * ```
 */
export interface ConfigStore {
  /** Every resource, sorted by key; one resource per `Kind/namespace/name`. */
  list(): IstioResource[];
  /** Problems the store itself found (unreadable or invalid files, duplicates). */
  errors(): Diagnostic[];
  /** Adds or replaces resources by key. `origin` names where they came from (file, "admin"). */
  apply(resources: IstioResource[], origin?: string): Promise<void>;
  /** Removes one resource; resolves `false` when it did not exist. */
  delete(kind: ResourceKind | string, namespace: string, name: string): Promise<boolean>;
  /** Subscribes to changes of `list()` or `errors()`. */
  onChange(fn: () => void): Disposable;
  /** Loads initial state and starts watching (idempotent). */
  start(): Promise<void>;
  /** Stops watchers and timers; the view stays readable. */
  close(): Promise<void>;
}

/** Sort comparator on `Kind/namespace/name`, shared by the backends for a deterministic `list()`. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
