/**
 * The body the three example tests share (node:test, vitest, jest): a test mesh with a seed and
 * a manual clock, productpage's mesh, a real ratings backend, and two faults. Each runner's file
 * only maps setup/teardown and the assertions onto its own API.
 */
import { createTestMesh, type TestMesh } from 'meshlet-node/testing';
import { RATINGS_BUDGET_MS, renderProduct, type ProductView } from './product.js';

/** The seed every runner uses: the same faults hit the same requests in each of them. */
export const SEED = 42;

export interface Scenario {
  t: TestMesh;
  /** Renders product `id` from productpage's mesh, its budget on the test's clock. */
  render(id: number): Promise<ProductView>;
}

/** Starts the mesh: productpage (the service under test) and a ratings backend. */
export async function setup(): Promise<Scenario> {
  // clock: the mesh's fault delays (and timeouts, backoff) wait for t.clock.advance(), not real time.
  const t = await createTestMesh({ seed: SEED, clock: true });
  const productpage = await t.mesh('productpage', { labels: { version: 'v1' } });
  await t.backend('ratings', { labels: { version: 'v1' }, port: 9080 }, (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ stars: 5 }));
  });
  const clock = t.clock!;
  return { t, render: (id) => renderProduct(productpage.fetch, id, (ms) => clock.timeoutSignal(ms)) };
}

/** 10% of ratings calls aborted with 503: renders `n` pages; returns them and how many calls the fault aborted. */
export async function underAbort(s: Scenario, n = 50): Promise<{ pages: ProductView[]; aborted: number }> {
  const fault = await s.t.fault({ service: 'ratings', abort: { httpStatus: 503, percentage: 10 } });
  s.t.clearRecords();
  const pages: ProductView[] = [];
  for (let i = 1; i <= n; i++) pages.push(await s.render(i));
  const aborted = s.t.records({ service: 'ratings' }).filter((r) => r.flags.includes('FI')).length;
  s.t.clock!.advance(RATINGS_BUDGET_MS); // the budgets of the answered calls end (nothing left pending)
  await fault.dispose();
  return { pages, aborted };
}

/** Every ratings call delayed 200 ms: the page's 100 ms budget runs out first. */
export async function underDelay(s: Scenario): Promise<ProductView> {
  const clock = s.t.clock!;
  const fault = await s.t.fault({ service: 'ratings', delay: { fixedDelay: '200ms', percentage: 100 } });
  try {
    const page = s.render(7);
    await clock.waitForTimers(2); // the page's budget and the mesh's fault delay
    if (clock.pending().join() !== `${RATINGS_BUDGET_MS},200`) throw new Error(`unexpected timers: ${clock.pending().join()}`);
    clock.advance(RATINGS_BUDGET_MS); // the budget runs out while ratings is still delayed
    return await page;
  } finally {
    clock.advance(200);
    await fault.dispose();
  }
}
