import { defineConfig } from 'tsup';

// ESM + CJS + .d.ts for each public entry point; the CLI is ESM only (bin/meshlet.js loads it).
export default defineConfig([
  {
    entry: { index: 'src/index.ts', 'control/index': 'src/control/index.ts', express: 'src/express.ts', fastify: 'src/fastify.ts', 'grpc/index': 'src/grpc/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    shims: true,
    target: 'node20',
    splitting: false,
  },
  {
    entry: { 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    shims: true,
    target: 'node20',
  },
]);
