import { defineConfig } from 'tsup';

// ESM + CJS + .d.ts for each public entry point; the CLI is ESM only (bin/meshlet.js loads it).
// Nothing from node_modules is bundled (skipNodeModulesBundle): dependencies and peers are
// imported at run time, and the demo's optional frameworks (express, fastify, grpc-js-xds:
// devDependencies) are loaded with import() only when `meshlet demo` runs, so the installed CLI
// works without them. No source maps: the tarball ships no sources they could point at.
export default defineConfig([
  {
    entry: {
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
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: false,
    clean: true,
    shims: true,
    target: 'node20',
    splitting: false,
    skipNodeModulesBundle: true,
  },
  {
    // Its own folder, so its chunks (the demo, loaded on demand) stay beside it.
    entry: { main: 'src/cli/main.ts' },
    outDir: 'dist/cli',
    format: ['esm'],
    sourcemap: false,
    shims: true,
    target: 'node20',
    skipNodeModulesBundle: true,
  },
]);
