// vitest for the example: `meshlet-node/testing` resolves to the sources in this checkout (an
// installed package resolves it to its dist/ by itself, no alias needed).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Vite's cache outside the checkout (its default is node_modules/.vite).
  cacheDir: join(tmpdir(), 'meshlet-example-vitest'),
  resolve: { alias: { 'meshlet-node/testing': fileURLToPath(new URL('../../src/testing/index.ts', import.meta.url)) } },
  test: { include: ['examples/testing/vitest.spec.ts'], root: fileURLToPath(new URL('../..', import.meta.url)), testTimeout: 30_000, hookTimeout: 30_000 },
});
