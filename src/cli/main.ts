import { MeshError } from '../errors.js';
import { analyzeCommand, analyzeUsage } from './commands/analyze.js';
import { applyCommand, applyUsage } from './commands/apply.js';
import { controlCommand, controlUsage } from './commands/control.js';
import { demoCommand, demoUsage } from './commands/demo.js';
import { getCommand, getUsage } from './commands/get.js';
import { statusCommand, statusUsage } from './commands/status.js';
import { stdio, type Output } from './output.js';

const COMMANDS: Record<string, { run: (argv: string[], out: Output) => Promise<number>; usage: string }> = {
  control: { run: controlCommand, usage: controlUsage },
  apply: { run: applyCommand, usage: applyUsage },
  analyze: { run: analyzeCommand, usage: analyzeUsage },
  get: { run: getCommand, usage: getUsage },
  status: { run: statusCommand, usage: statusUsage },
  demo: { run: demoCommand, usage: demoUsage },
};

export const USAGE = `usage:\n${Object.values(COMMANDS).map((c) => '  ' + c.usage).join('\n')}`;

/**
 * Runs one CLI invocation and returns the exit code. A user mistake (MeshError) prints one line
 * `meshlet: MESHLET_ERR_…: message`; only unexpected failures print a stack, and only with
 * MESHLET_DEBUG=1.
 */
export async function main(argv: string[], out: Output = stdio): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out.info(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    out.error(`meshlet: MESHLET_ERR_USAGE: unknown command "${name}"\n${USAGE}`);
    return 2;
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
