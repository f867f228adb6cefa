import { resourceKey, type Diagnostic, type IstioResource, type ResourceKind } from '../../config/types.js';
import { trace } from '../../internal/debug.js';
import { Emitter, type Disposable } from '../events.js';
import { compareKeys, type ConfigStore } from './types.js';

const log = trace('store');

/**
 * A {@link ConfigStore} held in memory: what `meshlet control` uses without `--config`, and
 * what tests use. Resources applied later replace earlier ones with the same key.
 *
 * @example
 * ```ts
 * const store = new MemoryStore();
 * await store.apply(resources);
 * store.list(); // sorted by Kind/namespace/name
 * ```
 */
export class MemoryStore implements ConfigStore {
  private readonly items = new Map<string, IstioResource>();
  private readonly changed = new Emitter<void>((err) => log('onChange listener threw: %o', err));
  private sorted: IstioResource[] | undefined;

  constructor(initial: IstioResource[] = []) {
    for (const r of initial) this.items.set(resourceKey(r), r);
  }

  list(): IstioResource[] {
    // Cached until the next write: list() is called on every snapshot rebuild and admin read.
    this.sorted ??= [...this.items.entries()].sort(([a], [b]) => compareKeys(a, b)).map(([, r]) => r);
    return [...this.sorted];
  }

  errors(): Diagnostic[] {
    return [];
  }

  async apply(resources: IstioResource[], origin?: string): Promise<void> {
    if (resources.length === 0) return;
    for (const r of resources) this.items.set(resourceKey(r), r);
    log('applied %d resource(s) from %s', resources.length, origin ?? 'api');
    this.touch();
  }

  async delete(kind: ResourceKind | string, namespace: string, name: string): Promise<boolean> {
    const existed = this.items.delete(`${kind}/${namespace}/${name}`);
    if (existed) this.touch();
    return existed;
  }

  onChange(fn: () => void): Disposable {
    return this.changed.on(fn);
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.changed.clear();
  }

  private touch(): void {
    this.sorted = undefined;
    this.changed.fire();
  }
}
