import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeshError } from '../errors.js';
import { packageRoot } from '../internal/package-root.js';
import { analyzeCommand, analyzeUsage } from './commands/analyze.js';
import { applyCommand, applyUsage } from './commands/apply.js';
import { controlCommand, controlUsage } from './commands/control.js';
import { dashboardCommand, dashboardUsage } from './commands/dashboard.js';
import { demoCommand, demoUsage } from './commands/demo.js';
import { getCommand, getUsage } from './commands/get.js';
import { statusCommand, statusUsage } from './commands/status.js';
import { tokenCommand, tokenUsage } from './commands/token.js';
import { gatewayCommand, gatewayUsage } from './commands/gateway.js';
import { stdio, type Output } from './output.js';

interface Command {
  run: (argv: string[], out: Output) => Promise<number>;
  usage: string;
  /** What `meshlet <command> --help` says under the usage line. */
  about: string;
}

const COMMANDS: Record<string, Command> = {
  control: { run: controlCommand, usage: controlUsage, about: 'Runs the control server: xDS v3 (ADS) for mesh clients, the admin API, (with --config) a watched directory of Istio YAML, and (with --ca-dir) the certificate authority and the TLS port serving certificate signing and xDS. Stops on SIGINT/SIGTERM.' },
  apply: { run: applyCommand, usage: applyUsage, about: 'Validates Istio YAML locally, then applies it to a running control server (nothing is sent when any file has an error). Exit 1 on any error.' },
  analyze: { run: analyzeCommand, usage: analyzeUsage, about: 'Checks Istio YAML: schema, then cross-resource checks (unknown subsets and hosts, conflicts). Prints file:line:col for each problem; exit 1 on any error.' },
  get: { run: getCommand, usage: getUsage, about: 'Lists the resources a running control server holds (kinds by name, plural or short name: vs, dr, se, we, gw, pa, ap, ra).' },
  status: { run: statusCommand, usage: statusUsage, about: 'Per-client xDS sync state (SYNCED, NOT SENT, STALE, NACK) and the config errors of a running control server. Exit 1 when there are config errors or NACKs. With CLIENT (a node id or a service name): that client\'s config as sent and ACKed (CSDS-like, admin GET /config_dump), per type and per resource; -o json|yaml adds the resources\' contents.' },
  dashboard: { run: (argv, out) => dashboardCommand(argv, out), usage: dashboardUsage, about: 'Prints the URL of the dashboard (the admin port\'s GET /: service graph, per-client xDS sync and identity, config errors). --open also runs xdg-open, on a terminal outside CI only.' },
  token: { run: tokenCommand, usage: tokenUsage, about: 'create: prints one join token (a JWT signed by the token key in the CA directory, carrying the root fingerprint) for a namespace/service account, --uses N for a token that joins N workloads at most; creates the CA there when it does not exist yet. revoke: refuses a token (and renewals of the certificates issued on its authority) from now on, in the CA directory or through a running server\'s admin API.' },
  gateway: { run: gatewayCommand, usage: gatewayUsage, about: 'Runs an ingress gateway: serves the Gateway resources whose selector matches its labels (HTTP, HTTPS with SNI, httpsRedirect) and forwards through the mesh (routing, retries, mTLS with the token\'s identity, metrics). Drains and stops on SIGINT/SIGTERM.' },
  demo: { run: demoCommand, usage: demoUsage, about: 'A bookinfo-style mesh in one process: the control server, HTTP and gRPC services on meshlet, and traffic with a table of who answered.' },
};

export const USAGE = `usage:\n${Object.values(COMMANDS).map((c) => '  ' + c.usage).join('\n')}\n  meshlet --version\n\n` +
  `Run \`meshlet <command> --help\` for one command. The admin address comes from --server, else MESHLET_ADMIN, else 127.0.0.1:15014.`;

/** The installed package's version (package.json beside dist/ or src/). */
export function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Runs one CLI invocation and returns the exit code. A user mistake (MeshError) prints one line
 * `meshlet: MESHLET_ERR_…: message`; only unexpected failures print a stack, and only with
 * MESHLET_DEBUG=1.
 */
export async function main(argv: string[], out: Output = stdio): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    out.info(version());
    return 0;
  }
  if (name === 'help' && rest[0] !== undefined && COMMANDS[rest[0]]) return main([rest[0], '--help'], out);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? out.info : out.error)(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    out.error(`meshlet: MESHLET_ERR_USAGE: unknown command "${name}"\n${USAGE}`);
    return 2;
  }
  // `--help` anywhere among a command's arguments (not as a flag's value: no command takes "--help").
  if (rest.includes('--help') || rest.includes('-h')) {
    out.info(`usage: ${command.usage}\n\n${command.about}`);
    return 0;
  }
  try {
    return await command.run(rest, out);
  } catch (err) {
    if (err instanceof MeshError) {
      out.error(`meshlet: ${err.code}: ${err.message}`);
      return err.code === 'MESHLET_ERR_USAGE' ? 2 : 1;
    }
    out.error(`meshlet: unexpected error: ${(err as Error)?.message ?? String(err)}`);
    if (process.env.MESHLET_DEBUG) out.error((err as Error)?.stack ?? '');
    return 1;
  }
}

const invokedDirectly = process.argv[1] !== undefined && /cli[\\/]main\.[cm]?[jt]s$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => { process.stderr.write(`meshlet: ${(err as Error).message}\n`); process.exitCode = 1; },
  );
}
