// Which meshlet the benchmarks load: the bundled build, as users run it (`npm run bench` builds it
// first). tsx's transform of the sources wraps every closure in a keep-names helper, which the hot
// path would pay per request. `source` (BENCH_SOURCE=1, or `--source` on the overhead benches)
// measures the TypeScript sources instead. `meshLibAt(root)` loads another checkout's build (the
// overhead benches' `--before <dir>`: a `git worktree` of an older commit with its own dist/).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Meshlet = typeof import('../../src/index.js');

/** Path of the bundled build's entry point. */
export const DIST_ENTRY = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

/** The dist bundle unless `source` is asked for or there is no build; then the sources. */
export async function meshLib(source = Boolean(process.env.BENCH_SOURCE)): Promise<Meshlet> {
  if (!source && existsSync(DIST_ENTRY)) return (await import(new URL('../../dist/index.js', import.meta.url).href)) as Meshlet;
  return import('../../src/index.js');
}

/** The dist bundle of the checkout at `root` (it must have been built there). */
export async function meshLibAt(root: string): Promise<Meshlet> {
  const entry = join(root, 'dist', 'index.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` in ${root}`);
  return (await import(pathToFileURL(entry).href)) as Meshlet;
}
