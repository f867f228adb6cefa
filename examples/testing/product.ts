/**
 * The service under test: productpage's product view. It asks ratings for the stars and, when
 * ratings fails or is slower than its budget, still renders the page without them (what a unit
 * test under injected faults checks).
 */

/** What the page shows for one product. */
export interface ProductView {
  id: number;
  /** Stars from ratings, or null when ratings could not answer in time. */
  stars: number | null;
  note?: string;
}

/** How long the page waits for ratings, ms. */
export const RATINGS_BUDGET_MS = 100;

/** How the page gets its deadline: `AbortSignal.timeout` in production, a test clock's in tests. */
export type Budget = (ms: number) => AbortSignal;

/**
 * Renders product `id`, calling ratings through `fetch` (in production `mesh.fetch`).
 *
 * @example
 * ```ts
 * const view = await renderProduct(mesh.fetch, 1); // { id: 1, stars: 5 }
 * ```
 */
export async function renderProduct(
  fetch: (url: string, init?: { signal?: AbortSignal }) => Promise<Response>,
  id: number,
  budget: Budget = (ms) => AbortSignal.timeout(ms),
): Promise<ProductView> {
  try {
    const res = await fetch(`http://ratings:9080/ratings/${id}`, { signal: budget(RATINGS_BUDGET_MS) });
    if (!res.ok) {
      await res.arrayBuffer();
      return { id, stars: null, note: `ratings unavailable (${res.status})` };
    }
    const body = (await res.json()) as { stars: number };
    return { id, stars: body.stars };
  } catch {
    return { id, stars: null, note: 'ratings unavailable (timeout)' };
  }
}
