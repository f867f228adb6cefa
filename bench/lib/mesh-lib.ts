// Which meshlet the benchmarks load: the bundled build, as users run it (`npm run bench` builds it
// first). tsx's transform of the sources wraps every closure in a keep-names helper, which the hot
// path would pay per request. `source` (BENCH_SOURCE=1, or `--source` on the overhead benches)
// measures the TypeScript sources instead.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Meshlet = typeof import('../../src/index.js');

/** Path of the bundled build's entry point. */
export const DIST_ENTRY = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

/** The dist bundle unless `source` is asked for or there is no build; then the sources. */
export async function meshLib(source = Boolean(process.env.BENCH_SOURCE)): Promise<Meshlet> {
  if (!source && existsSync(DIST_ENTRY)) return (await import(new URL('../../dist/index.js', import.meta.url).href)) as Meshlet;
  return import('../../src/index.js');
}
