/**
 * The demo's optional packages (express, fastify, @grpc/grpc-js-xds): devDependencies of the
 * checkout, not dependencies of the installed package. Loaded with import() only when the demo
 * runs; a missing one makes the demo do without it and say so, never crash the CLI.
 */
export async function optionalImport<T>(load: () => Promise<T>): Promise<T | undefined> {
  try {
    return await load();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}
