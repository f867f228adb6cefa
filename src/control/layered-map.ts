/**
 * An immutable name-sorted map that a change copies in O(change), not O(size): a shared base
 * map plus a small overlay of replaced, removed and added names. A snapshot patch used to copy
 * every type's whole map (80k listeners at 30k resources: tens of ms per change); now it copies
 * the overlay, and folds it into a new base only once it has grown past `FOLD_AT` names.
 */

/** Overlay size at which a patch folds everything into a new base map. */
const FOLD_AT = 4096;

/**
 * @example
 * ```ts
 * const a = LayeredMap.of(new Map([['a', 1], ['c', 3]]));
 * const b = a.patch(new Map([['b', 2], ['c', undefined]]));
 * [...b]; // [['a', 1], ['b', 2]] — `a` is unchanged
 * ```
 */
export class LayeredMap<V> implements ReadonlyMap<string, V> {
  private constructor(
    /** Sorted by name; never mutated once wrapped. */
    private readonly base: ReadonlyMap<string, V>,
    /** Replaced or added names → value; names removed from `base` → null. */
    private readonly overlay: ReadonlyMap<string, V | null>,
    /** Names in `overlay` with a value and not in `base`, sorted. */
    private readonly added: readonly string[],
    readonly size: number,
  ) {}

  /** Wraps a map whose insertion order is sorted by name (it must not be mutated afterwards). */
  static of<V>(sorted: ReadonlyMap<string, V>): LayeredMap<V> {
    return new LayeredMap(sorted, new Map(), [], sorted.size);
  }

  get(name: string): V | undefined {
    const o = this.overlay.get(name);
    if (o === null) return undefined;
    return o !== undefined ? o : this.base.get(name);
  }

  has(name: string): boolean {
    const o = this.overlay.get(name);
    if (o === null) return false;
    return o !== undefined || this.base.has(name);
  }

  /** This map with `changes` applied (`undefined` removes the name); this one stays as it is. */
  patch(changes: ReadonlyMap<string, V | undefined>): LayeredMap<V> {
    if (this.overlay.size + changes.size > FOLD_AT) return LayeredMap.of(new Map(this.merged(changes)));
    const overlay = new Map(this.overlay);
    let size = this.size;
    const newlyAdded: string[] = [];
    const dropped = new Set<string>();
    for (const [name, v] of changes) {
      const had = this.has(name);
      const inBase = this.base.has(name);
      if (v !== undefined) {
        overlay.set(name, v);
        if (!had) {
          size++;
          if (!inBase) newlyAdded.push(name);
        }
      } else if (had) {
        size--;
        if (inBase) overlay.set(name, null);
        else {
          overlay.delete(name);
          dropped.add(name);
        }
      }
    }
    let added = this.added;
    if (newlyAdded.length || dropped.size) {
      added = [...this.added.filter((n) => !dropped.has(n)), ...newlyAdded].sort();
    }
    return new LayeredMap(this.base, overlay, added, size);
  }

  *entries(): MapIterator<[string, V]> {
    yield* this.merged(new Map());
  }

  /** Entries in name order with `extra` changes applied on top (what a fold writes). */
  private *merged(extra: ReadonlyMap<string, V | undefined>): Generator<[string, V]> {
    const value = (name: string, fallback: V | undefined): V | undefined => {
      if (extra.has(name)) return extra.get(name);
      const o = this.overlay.get(name);
      return o === null ? undefined : o !== undefined ? o : fallback;
    };
    const added = extra.size ? [...new Set([...this.added, ...[...extra.keys()].filter((n) => !this.base.has(n))])].sort() : this.added;
    let k = 0;
    for (const [name, e] of this.base) {
      while (k < added.length && added[k]! < name) {
        const v = value(added[k]!, undefined);
        if (v !== undefined) yield [added[k]!, v];
        k++;
      }
      const v = value(name, e);
      if (v !== undefined) yield [name, v];
    }
    for (; k < added.length; k++) {
      const v = value(added[k]!, undefined);
      if (v !== undefined) yield [added[k]!, v];
    }
  }

  *keys(): MapIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
}
