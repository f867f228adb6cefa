import { debuglog } from 'node:util';

/**
 * Per-module trace output, off unless `NODE_DEBUG` names the section (e.g.
 * `NODE_DEBUG=meshlet-xds,meshlet-ads` or `NODE_DEBUG=meshlet*`). Library code never uses console.
 */
export function trace(section: 'config' | 'xds' | 'ads' | 'store' | 'registry' | 'admin' | 'mesh' | (string & {})): ((msg: string, ...args: unknown[]) => void) & { readonly enabled: boolean } {
  return debuglog(`meshlet-${section}`);
}
