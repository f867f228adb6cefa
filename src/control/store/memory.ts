import { resourceKey, type Diagnostic, type IstioResource, type ResourceKind } from '../../config/types.js';
import { trace } from '../../internal/debug.js';
import { Emitter, type Disposable } from '../../internal/events.js';
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
  /** Keys and resources in key order, kept sorted on every write (list() runs on every rebuild). */
  private keys: string[] = [];
  private sorted: IstioResource[] = [];

  constructor(initial: IstioResource[] = []) {
    for (const r of initial) this.items.set(resourceKey(r), r);
    this.keys = [...this.items.keys()].sort(compareKeys);
    this.sorted = this.keys.map((k) => this.items.get(k)!);
  }

  list(): IstioResource[] {
    return [...this.sorted];
  }

  errors(): Diagnostic[] {
    return [];
  }

  async apply(resources: IstioResource[], origin?: string): Promise<void> {
    if (resources.length === 0) return;
    for (const r of resources) {
      const key = resourceKey(r);
      const at = this.position(key);
      if (this.items.has(key)) this.sorted[at] = r;
      else {
        this.keys.splice(at, 0, key);
        this.sorted.splice(at, 0, r);
      }
      this.items.set(key, r);
    }
    log('applied %d resource(s) from %s', resources.length, origin ?? 'api');
    this.touch();
  }

  async delete(kind: ResourceKind | string, namespace: string, name: string): Promise<boolean> {
    const key = `${kind}/${namespace}/${name}`;
    const existed = this.items.delete(key);
    if (!existed) return false;
    const at = this.position(key);
    this.keys.splice(at, 1);
    this.sorted.splice(at, 1);
    this.touch();
    return true;
  }

  onChange(fn: () => void): Disposable {
    return this.changed.on(fn);
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.changed.clear();
  }

  /** Index of `key` in the sorted keys, or where it would go. */
  private position(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.keys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private touch(): void {
    this.changed.fire();
  }
}
