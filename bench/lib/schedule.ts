/**
 * The order variants run in within one round: rotated by one position per round, so no variant
 * always runs first (cold caches, turbo, a neighbour's burst) or always right after another.
 */
export function roundOrder<T>(variants: readonly T[], round: number): T[] {
  const n = variants.length;
  if (n === 0) return [];
  const k = ((round % n) + n) % n;
  return [...variants.slice(k), ...variants.slice(0, k)];
}
