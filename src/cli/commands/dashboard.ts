import { spawn } from 'node:child_process';
import { adminRequest } from '../admin-client.js';
import { adminUrl, parse } from '../args.js';
import type { Output } from '../output.js';

export const dashboardUsage = 'meshlet dashboard [--open] [--server HOST:ADMINPORT]';

/**
 * `meshlet dashboard`: checks the control server answers, then prints the dashboard URL (the
 * admin port's `GET /`). With `--open` it also starts `xdg-open` on it — only on a terminal and
 * outside CI, since a browser popping up from a script or a pipeline is never wanted; otherwise
 * it says why it only printed.
 */
export async function dashboardCommand(argv: string[], out: Output, opener: (url: string) => void = xdgOpen): Promise<number> {
  const { values } = parse(argv, { open: { type: 'boolean' }, server: { type: 'string', short: 's' } });
  const base = adminUrl(values.server);
  await adminRequest(base, '/healthz');
  const url = `${base}/`;
  out.info(url);
  // Never in the URL (it would land in history and logs): the page asks for it.
  if (process.env['MESHLET_ADMIN_TOKEN']) out.error('meshlet dashboard: the page asks for the admin token (MESHLET_ADMIN_TOKEN) once per tab');
  if (!values.open) return 0;
  if (!process.stdout.isTTY || process.env['CI']) {
    out.error('meshlet dashboard: not opening a browser (not a terminal, or CI is set); open the URL above');
    return 0;
  }
  opener(url);
  return 0;
}

function xdgOpen(url: string): void {
  const child = spawn('xdg-open', [url], { detached: true, stdio: 'ignore' });
  child.on('error', () => process.stderr.write(`meshlet dashboard: could not run xdg-open; open ${url}\n`));
  child.unref();
}
