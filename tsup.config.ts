import { defineConfig } from 'tsup';

// ESM + CJS + .d.ts for each public entry point; the CLI is ESM only (bin/meshlet.js loads it).
// Nothing from node_modules is bundled (skipNodeModulesBundle): dependencies and peers are
// imported at run time, and the demo's optional frameworks (express, fastify, grpc-js-xds:
// devDependencies) are loaded with import() only when `meshlet demo` runs, so the installed CLI
// works without them. No source maps: the tarball ships no sources they could point at.
const entry = {
  index: 'src/index.ts',
  'control/index': 'src/control/index.ts',
  express: 'src/express.ts',
  fastify: 'src/fastify.ts',
  'grpc/index': 'src/grpc/index.ts',
  'testing/index': 'src/testing/index.ts',
  experimental: 'src/experimental.ts',
  'gateway/index': 'src/gateway/index.ts',
  // The CA's signing worker thread: a file of its own, found beside the bundles (control/ca/signer.ts).
  'control/signer-worker': 'src/control/ca/signer-worker.ts',
  // The config-analysis worker thread, found the same way (control/analysis.ts).
  'control/analyze-worker': 'src/control/analyze-worker.ts',
};
const common = { entry, dts: true, sourcemap: false, clean: false, shims: true, target: 'node20', skipNodeModulesBundle: true } as const;

// `npm run build` empties dist/ first (clean: false here: the configs build side by side).
// ESM entries share their common code as chunks (one copy of the mesh for an app that imports
// meshlet-node and meshlet-node/testing, and a tarball that does not ship the engine once per
// entry); CJS stays one self-contained file per entry (esbuild's splitting is ESM-only).
export default defineConfig([
  { ...common, format: ['esm'], splitting: true },
  // Whitespace only (names kept, so stacks still name functions): without it the CJS copies put
  // the tarball over its 1.5 MB bound (scripts/ci-package.sh).
  { ...common, format: ['cjs'], splitting: false, esbuildOptions: (o) => { o.minifyWhitespace = true; } },
  {
    // Its own folder, so its chunks (the demo, loaded on demand) stay beside it.
    entry: { main: 'src/cli/main.ts' },
    outDir: 'dist/cli',
    format: ['esm'],
    sourcemap: false,
    clean: false,
    shims: true,
    target: 'node20',
    skipNodeModulesBundle: true,
  },
]);
