/**
 * Candidate policies for a path, found by walking two character tries once — one of the
 * policies' literal path prefixes, one of their literal suffixes (read backwards) — instead of
 * testing every policy: with 100 policies a request touches the few whose paths it could match
 * (Envoy tests each policy in turn; the decision is the same, only cheaper). Guards are marked
 * in stamp arrays, so `mark()` allocates nothing and the caller still visits policies in their
 * order (the reported policy is the first match).
 */

interface Node {
  next: Map<number, Node> | undefined;
  /** Guards whose prefix (or suffix) ends here. */
  ids: number[];
}

/** Literal text a matching path starts and ends with. */
export interface PathGuard {
  readonly prefix: string;
  readonly suffix: string;
}

function insert(root: Node, text: string, id: number, reverse: boolean): void {
  let node = root;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(reverse ? text.length - 1 - i : i);
    node.next ??= new Map();
    let child = node.next.get(c);
    if (!child) node.next.set(c, (child = { next: undefined, ids: [] }));
    node = child;
  }
  node.ids.push(id);
}

function walk(root: Node, path: string, marks: Uint32Array, stamp: number, reverse: boolean): void {
  let node: Node | undefined = root;
  const n = path.length;
  for (let i = 0; ; i++) {
    const ids = node.ids;
    for (let j = 0; j < ids.length; j++) marks[ids[j] as number] = stamp;
    if (i >= n || node.next === undefined) return;
    node = node.next.get(path.charCodeAt(reverse ? n - 1 - i : i));
    if (node === undefined) return;
  }
}

/**
 * Both tries over the guards of one filter's policies.
 *
 * @example
 * ```ts
 * const index = new PathIndex([[{ prefix: '/api/', suffix: '' }], undefined]);
 * const stamp = index.mark('/api/x');
 * index.isCandidate(0, stamp); // true: its guard's prefix and suffix both hold
 * index.isCandidate(1, stamp); // true: no guard
 * ```
 */
export class PathIndex {
  private readonly prefixes: Node = { next: undefined, ids: [] };
  private readonly suffixes: Node = { next: undefined, ids: [] };
  private readonly prefixMarks: Uint32Array;
  private readonly suffixMarks: Uint32Array;
  /** Per policy, its guard ids; undefined: any path may match it. */
  private readonly byPolicy: ReadonlyArray<readonly number[] | undefined>;
  private stamp = 0;

  /** `guards[i]`: policy i's guards, or undefined when any path may match it. */
  constructor(guards: ReadonlyArray<readonly PathGuard[] | undefined>) {
    let next = 0;
    this.byPolicy = guards.map((list) => list?.map((g) => {
      const id = next++;
      insert(this.prefixes, g.prefix, id, false);
      insert(this.suffixes, g.suffix, id, true);
      return id;
    }));
    this.prefixMarks = new Uint32Array(next);
    this.suffixMarks = new Uint32Array(next);
  }

  /** Marks the guards `path` satisfies; returns the stamp {@link isCandidate} compares with. */
  mark(path: string): number {
    if (++this.stamp === 0xffffffff) {
      this.prefixMarks.fill(0);
      this.suffixMarks.fill(0);
      this.stamp = 1;
    }
    walk(this.prefixes, path, this.prefixMarks, this.stamp, false);
    walk(this.suffixes, path, this.suffixMarks, this.stamp, true);
    return this.stamp;
  }

  /** Policy `id` may match the marked path: no guard, or one guard's prefix and suffix hold. */
  isCandidate(id: number, stamp: number): boolean {
    const list = this.byPolicy[id];
    if (list === undefined) return true;
    for (let j = 0; j < list.length; j++) {
      const g = list[j] as number;
      if (this.prefixMarks[g] === stamp && this.suffixMarks[g] === stamp) return true;
    }
    return false;
  }
}
