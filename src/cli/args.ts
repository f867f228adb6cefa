import { parseArgs, type ParseArgsConfig } from 'node:util';
import { meshError } from '../errors.js';

/** parseArgs that turns its TypeErrors into a one-line usage error instead of a stack trace. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw meshError('MESHLET_ERR_USAGE', (err as Error).message.split('\n')[0] ?? 'bad arguments');
  }
}

/** Parses a port flag; 0 means "any free port". */
export function portOption(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw meshError('MESHLET_ERR_USAGE', `${flag} must be a port number 0-65535, got "${value}"`);
  }
  return port;
}

/** Admin API base URL from --server, env MESHLET_ADMIN, or the default port on localhost. */
export function adminUrl(server: string | undefined): string {
  const raw = server ?? process.env.MESHLET_ADMIN ?? '127.0.0.1:15014';
  return raw.startsWith('http://') || raw.startsWith('https://') ? raw.replace(/\/$/, '') : `http://${raw}`;
}
