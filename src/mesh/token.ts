/**
 * Where a mesh's join token comes from. Kept apart from ./identity.ts, which pulls in the
 * certificate and JWT code: a mesh without a token never loads it.
 */
import { readFile } from 'node:fs/promises';
import { meshError } from '../errors.js';

/** How a mesh reads its join token. */
export type TokenSource = string | (() => string | Promise<string>);

/**
 * The join token of `createMesh({ token })`, else env `MESHLET_TOKEN`, else the file named by
 * `MESHLET_TOKEN_FILE` (read again on every certificate request, so a rotated file is picked up).
 *
 * @example
 * ```ts
 * tokenSource(undefined, { MESHLET_TOKEN_FILE: '/var/run/meshlet/token' }); // () => Promise<string>
 * ```
 */
export function tokenSource(token: TokenSource | undefined, env: NodeJS.ProcessEnv = process.env): TokenSource | undefined {
  if (token !== undefined) return token;
  const literal = env['MESHLET_TOKEN']?.trim();
  if (literal) return literal;
  const file = env['MESHLET_TOKEN_FILE'];
  if (!file) return undefined;
  return async () => {
    try {
      return (await readFile(file, 'utf8')).trim();
    } catch (err) {
      throw meshError('MESHLET_ERR_CA_TOKEN', `cannot read MESHLET_TOKEN_FILE ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
}
