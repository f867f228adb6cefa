/**
 * jose, loaded on first use, as grpc/lib.ts loads grpc-js: the ESM bundle hoists every static
 * import to the top, so a static `import … from 'jose'` here would load jose (~20–60 ms) in
 * every mesh, RequestAuthentication or not. Modules of the JWT runtime import jose's types only
 * and take its functions from {@link joseLib} when a config is compiled.
 */
import { createRequire } from 'node:module';
import type * as Jose from 'jose';

let lib: typeof Jose | undefined;

/**
 * The jose module (one copy per process, as `require` resolves it).
 *
 * @example
 * ```ts
 * const keys = joseLib().createLocalJWKSet(jwks);
 * ```
 */
export function joseLib(): typeof Jose {
  return (lib ??= createRequire(import.meta.url)('jose') as typeof Jose);
}
