// A minimal Jest transformer for the example: TypeScript to JavaScript with esbuild (already a
// dependency of tsx/tsup/vite), as ES modules when Jest runs them as such. Projects usually use
// ts-jest or @swc/jest instead; this keeps the example free of another dependency.
const { transformSync } = require('esbuild');

module.exports = {
  process(source, filename, options) {
    const { code, map } = transformSync(source, {
      loader: 'ts',
      format: options.supportsStaticESM ? 'esm' : 'cjs',
      target: 'node20',
      sourcemap: true,
      sourcefile: filename,
    });
    return { code, map };
  },
};
