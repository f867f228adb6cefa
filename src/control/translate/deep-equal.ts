/**
 * Structural equality of translator output (plain objects, arrays, strings, numbers, booleans,
 * null, Uint8Array): lets a rebuild reuse the previous encoding of a resource or typed config
 * whose generated message did not change, instead of running protobufjs fromObject + encode
 * (+ a content hash) again for every resource on every change. Numbers compare with Object.is
 * (NaN equals NaN, +0 and -0 differ), so equal inputs always encode to equal bytes; members
 * that are `undefined` count as absent, as protobufjs fromObject treats them.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return a !== 0 || Object.is(a, b); // 0 and -0 encode differently as doubles
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return typeof a === 'number' && typeof b === 'number' && Object.is(a, b);
  }
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  const arrA = Array.isArray(a);
  if (arrA !== Array.isArray(b)) return false;
  if (arrA) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!deepEqual(x[i], y[i])) return false;
    return true;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let defined = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k) || x[k] === undefined) continue;
    defined++;
    if (!Object.hasOwn(y, k) || !deepEqual(x[k], y[k])) return false;
  }
  for (const k in y) if (Object.hasOwn(y, k) && y[k] !== undefined) defined--;
  return defined === 0;
}

/**
 * A copy of translator output for a cache to compare against later (callers may reuse their
 * objects). Not structuredClone: that copies the whole ArrayBuffer behind a Uint8Array view,
 * and protobufjs output is often a view into Node's 8 KiB Buffer pool.
 */
export function cloneData<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Uint8Array) return value.slice() as T;
  if (Array.isArray(value)) return value.map(cloneData) as T;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) out[k] = cloneData((value as Record<string, unknown>)[k]);
  return out as T;
}
