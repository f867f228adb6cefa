// How docs*.test.ts run the code blocks of the Markdown docs (see docs.test.ts): one work
// directory per run with the checkout's node_modules, free ports per doc, background processes
// stopped by PID when their doc ends. The docs are split across a few test files so that each
// file stays well inside the runner's per-file timeout on a loaded machine.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/index.js';
import { main as cli } from '../../src/cli/main.js';
import { analyzeHosts, cliLine, extractBlocks, RUNNABLE, shScript, withPorts, type Block, type Ports } from './docs-blocks.js';

/** Docs whose blocks run in a test file of their own (the rest run in docs.test.ts). */
export const OWN_FILE: Readonly<Record<string, string>> = {
  'getting-started.md': 'docs-getting-started.test.ts',
  'operations.md': 'docs-operations.test.ts',
  'migrating-from-istio.md': 'docs-operations.test.ts',
};

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/meshlet.js');
export const MAX_NO_RUN = 6;
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | string>;
const KNOWN = new Set([pkg['name'] as string, ...['dependencies', 'devDependencies', 'peerDependencies'].flatMap((k) => Object.keys((pkg[k] as Record<string, string> | undefined) ?? {}))]);

const work = mkdtempSync(join(tmpdir(), 'meshlet-docs-'));
after(() => rmSync(work, { recursive: true, force: true }));
// Bare imports (express, fastify, @grpc/grpc-js) resolve from the checkout's node_modules; the
// package's own name resolves to src/ through tsconfig paths (TSX_TSCONFIG_PATH).
symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'), 'dir');
writeFileSync(join(work, 'package.json'), JSON.stringify({ type: 'module', private: true }));
const WAIT = join(work, 'wait-admin.mjs');
writeFileSync(WAIT, `const base = 'http://' + (process.env.MESHLET_ADMIN ?? '127.0.0.1:15014');
for (let i = 0; i < 300; i++) {
  try { if ((await fetch(base + '/healthz')).ok) process.exit(0); } catch {}
  await new Promise((r) => setTimeout(r, 50));
}
console.error('control server at ' + base + ' did not come up'); process.exit(1);
`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    }).once('error', reject);
  });
}

async function run(cmd: string, args: string[], cwd: string, env: Record<string, string>, timeoutMs = 90_000): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, out, err };
}

/** Stops the doc's background processes by PID and waits until each is gone. */
async function stopByPid(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  for (const pid of readFileSync(pidFile, 'utf8').split('\n').filter(Boolean).map(Number)) {
    try { process.kill(pid, 'SIGTERM'); } catch { continue; /* already gone */ }
    for (let i = 0; i < 200; i++) {
      try { process.kill(pid, 0); } catch { break; }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

export const where = (b: Block) => `${b.doc}:${b.line}`;

/** Runs `meshlet <argv>` through the CLI's main() with the block's cwd and env; exit 0 required. */
async function cliInProcess(b: Block, one: { argv: string[]; stdout?: string }, dir: string, env: Record<string, string>): Promise<void> {
  const lines: string[] = [];
  const errors: string[] = [];
  const saved = { cwd: process.cwd(), env: { ...process.env } };
  process.chdir(dir);
  Object.assign(process.env, env);
  let exit: number;
  try {
    exit = await cli(one.argv, { info: (l) => lines.push(l), error: (l) => errors.push(l) });
  } finally {
    process.chdir(saved.cwd);
    for (const k of Object.keys(env)) {
      if (saved.env[k] === undefined) delete process.env[k];
      else process.env[k] = saved.env[k];
    }
  }
  assert.equal(exit, 0, `${where(b)}: meshlet ${one.argv.join(' ')} exited ${exit}\n${lines.join('\n')}\n${errors.join('\n')}`);
  if (one.stdout) writeFileSync(join(dir, one.stdout), lines.join('\n') + '\n');
}

export async function runBlock(b: Block, dir: string, ports: Ports, index: number, pids: string): Promise<void> {
  const env = {
    TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'),
    MESHLET_CONTROL_PLANE: `127.0.0.1:${ports.xds}`,
    MESHLET_ADMIN: `127.0.0.1:${ports.admin}`,
    NODE_OPTIONS: '',
    DOCS_XDS_PORT: String(ports.xds),
    DOCS_ADMIN_PORT: String(ports.admin),
    DOCS_SECURE_PORT: String(ports.secure),
  };
  const code = withPorts(b.code, ports);
  if (b.lang === 'yaml' || b.lang === 'yml') {
    const file = join(dir, typeof b.attrs['file'] === 'string' ? b.attrs['file'] : `block-${index}.yaml`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, code);
    if (!/^\s*apiVersion:\s*\S*istio\.io\//m.test(code)) {
      // Not Istio config: a Prometheus config goes through promtool, anything else must parse.
      if (/^scrape_configs:/m.test(code) && PROMTOOL) {
        const r = await run(PROMTOOL, ['check', 'config', file], dir, env);
        assert.equal(r.code, 0, `${where(b)}: promtool check config failed\n${r.out}\n${r.err}`);
      } else {
        parseYaml(code);
      }
      return;
    }
    const { resources, diagnostics } = parseConfig(code, file);
    assert.ok(resources.length > 0 || diagnostics.length > 0, `${where(b)}: a yaml block with no Istio resource`);
    // `meshlet analyze` in this process (the CLI's own entry point, without a process per block).
    const lines: string[] = [];
    const exit = await cli(['analyze', '-f', file, ...analyzeHosts(resources)], { info: (l) => lines.push(l), error: (l) => lines.push(l) });
    assert.equal(exit, 0, `${where(b)}: meshlet analyze failed\n${lines.join('\n')}`);
    return;
  }
  if (b.lang === 'sh' || b.lang === 'bash' || b.lang === 'shell') {
    // One-shot CLI lines run through the CLI's main() in this process (a process per line
    // costs seconds on a loaded machine); everything else goes to bash, in order.
    let chunk: string[] = [];
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const { script, problems } = shScript(chunk.join('\n'), BIN, WAIT, (p) => KNOWN.has(p));
      chunk = [];
      assert.deepEqual(problems, [], where(b));
      // Background processes (a control server "in another terminal") live until the doc ends.
      const r = await run('bash', ['-c', script], dir, { ...env, DOCS_PIDS: pids });
      assert.equal(r.code, 0, `${where(b)}: exit ${r.code}\n--- script\n${script}--- stdout\n${r.out}\n--- stderr\n${r.err}`);
      if (/&\s*echo \$!/.test(script)) {
        const w = await run(process.execPath, [WAIT], dir, env);
        assert.equal(w.code, 0, `${where(b)}: ${w.err}`);
      }
    };
    for (const line of code.split('\n')) {
      const one = cliLine(line);
      if (!one) { chunk.push(line); continue; }
      await flush();
      await cliInProcess(b, one, dir, env);
    }
    await flush();
    return;
  }
  const ext = b.lang.startsWith('t') ? 'ts' : 'mjs';
  const file = join(dir, `block-${index}.${ext}`);
  writeFileSync(file, code);
  const r = await run(process.execPath, ['--import', 'tsx', file], dir, env);
  assert.equal(r.code, 0, `${where(b)}: exit ${r.code}\n--- stdout\n${r.out}\n--- stderr\n${r.err}`);
}

export const DOCS = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort();
export const ALL_BLOCKS = DOCS.flatMap((d) => extractBlocks(`docs/${d}`, readFileSync(join(ROOT, 'docs', d), 'utf8')));

/** Runs every runnable block of docs/<doc>, in order, in one work directory with its own ports. */
export async function runDoc(doc: string): Promise<number> {
  const blocks = ALL_BLOCKS.filter((b) => b.doc === `docs/${doc}` && RUNNABLE.has(b.lang) && !b.attrs['no-run']);
  const dir = join(work, doc.replace(/\.md$/, ''));
  mkdirSync(dir, { recursive: true });
  const ports: Ports = { xds: await freePort(), secure: await freePort(), admin: await freePort() };
  // file= blocks first (programs, then config): later blocks may refer to any of them.
  for (const yamlPass of [false, true]) {
    for (const b of blocks.filter((x) => typeof x.attrs['file'] === 'string' && /^y/.test(x.lang) === yamlPass)) {
      const file = join(dir, b.attrs['file'] as string);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, withPorts(b.code, ports));
    }
  }
  const pids = join(dir, 'pids');
  try {
    let i = 0;
    for (const b of blocks) {
      i++;
      if (/^(ts|js)/.test(b.lang) && typeof b.attrs['file'] === 'string') continue;
      await runBlock(b, dir, ports, i, pids);
    }
  } finally {
    await stopByPid(pids);
  }
  return blocks.length;
}

/** Runs README.md's yaml blocks through `meshlet analyze` (its other blocks are fragments). */
export async function runReadmeYaml(): Promise<number> {
  const dir = join(work, 'readme');
  mkdirSync(dir, { recursive: true });
  const blocks = extractBlocks('README.md', readFileSync(join(ROOT, 'README.md'), 'utf8')).filter((b) => /^y/.test(b.lang) && !b.attrs['no-run']);
  let i = 0;
  for (const b of blocks) await runBlock(b, dir, { xds: 15010, secure: 15012, admin: 15014 }, ++i, join(dir, 'pids'));
  return blocks.length;
}
