// Every code block in docs/*.md is executed (issue 17: "every code block in them is executed by a
// test"): ts/js blocks as ES modules against this checkout, sh blocks through bash with the
// checkout's CLI on free ports (background servers stopped by PID), yaml blocks through
// `meshlet analyze`. `file=NAME` blocks are written into the doc's work directory first (a yaml
// config an sh block applies, a ts program an sh block runs); `no-run` blocks are counted, and
// more than a handful fails the test. README.md's yaml blocks are analyzed the same way.
import { after, test } from 'node:test';
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
import { analyzeHosts, extractBlocks, RUNNABLE, shScript, withPorts, type Block, type Ports } from './docs-blocks.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/meshlet.js');
const MAX_NO_RUN = 6;
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

const where = (b: Block) => `${b.doc}:${b.line}`;

async function runBlock(b: Block, dir: string, ports: Ports, index: number, pids: string): Promise<void> {
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
    const { script, problems } = shScript(code, BIN, WAIT, (p) => KNOWN.has(p));
    assert.deepEqual(problems, [], where(b));
    // Background processes (a control server "in another terminal") live until the doc ends.
    const r = await run('bash', ['-c', script], dir, { ...env, DOCS_PIDS: pids });
    assert.equal(r.code, 0, `${where(b)}: exit ${r.code}\n--- script\n${script}--- stdout\n${r.out}\n--- stderr\n${r.err}`);
    if (/&\s*echo \$!/.test(script)) {
      const w = await run(process.execPath, [WAIT], dir, env);
      assert.equal(w.code, 0, `${where(b)}: ${w.err}`);
    }
    return;
  }
  const ext = b.lang.startsWith('t') ? 'ts' : 'mjs';
  const file = join(dir, `block-${index}.${ext}`);
  writeFileSync(file, code);
  const r = await run(process.execPath, ['--import', 'tsx', file], dir, env);
  assert.equal(r.code, 0, `${where(b)}: exit ${r.code}\n--- stdout\n${r.out}\n--- stderr\n${r.err}`);
}

const DOCS = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort();
const all = DOCS.flatMap((d) => extractBlocks(`docs/${d}`, readFileSync(join(ROOT, 'docs', d), 'utf8')));

test('the docs exist and have code blocks; few are marked no-run', () => {
  for (const name of ['getting-started.md', 'concepts.md', 'configuration.md', 'migrating-from-istio.md', 'errors.md', 'operations.md', 'faq.md']) {
    assert.ok(DOCS.includes(name), `docs/${name} is missing`);
  }
  const runnable = all.filter((b) => RUNNABLE.has(b.lang));
  const noRun = runnable.filter((b) => b.attrs['no-run']);
  assert.ok(runnable.length - noRun.length >= 10, `only ${runnable.length - noRun.length} blocks run`);
  assert.ok(noRun.length <= MAX_NO_RUN, `${noRun.length} blocks are marked no-run (at most ${MAX_NO_RUN}): ${noRun.map(where).join(', ')}`);
  for (const b of all) {
    if (b.lang === '' || RUNNABLE.has(b.lang) || b.lang === 'text' || b.lang === 'json') continue;
    assert.fail(`${where(b)}: unknown block language "${b.lang}" (use ts, js, sh, yaml, text or json)`);
  }
  // A program written with file= must be run by an sh block of the same doc.
  for (const b of all.filter((x) => /^(ts|js)/.test(x.lang) && typeof x.attrs['file'] === 'string')) {
    const runs = all.some((s) => s.doc === b.doc && /^(sh|bash)/.test(s.lang) && s.code.includes(b.attrs['file'] as string));
    assert.ok(runs, `${where(b)}: file=${b.attrs['file']} is never run by an sh block`);
  }
});

for (const doc of DOCS) {
  const blocks = all.filter((b) => b.doc === `docs/${doc}` && RUNNABLE.has(b.lang) && !b.attrs['no-run']);
  if (blocks.length === 0) continue;
  test(`docs/${doc}: every code block runs`, { timeout: 300_000 }, async () => {
    const dir = join(work, doc.replace(/\.md$/, ''));
    mkdirSync(dir, { recursive: true });
    const ports: Ports = { xds: await freePort(), secure: await freePort(), admin: await freePort() };
    // file= blocks first: later blocks may refer to any of them.
    for (const b of blocks.filter((x) => typeof x.attrs['file'] === 'string' && !/^y/.test(x.lang))) {
      const file = join(dir, b.attrs['file'] as string);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, withPorts(b.code, ports));
    }
    for (const b of blocks.filter((x) => typeof x.attrs['file'] === 'string' && /^y/.test(x.lang))) {
      const file = join(dir, b.attrs['file'] as string);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, withPorts(b.code, ports));
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
  });
}

test('README.md: every yaml block passes meshlet analyze', async () => {
  const dir = join(work, 'readme');
  mkdirSync(dir, { recursive: true });
  const blocks = extractBlocks('README.md', readFileSync(join(ROOT, 'README.md'), 'utf8')).filter((b) => /^y/.test(b.lang) && !b.attrs['no-run']);
  assert.ok(blocks.length > 0);
  let i = 0;
  for (const b of blocks) await runBlock(b, dir, { xds: 15010, secure: 15012, admin: 15014 }, ++i, join(dir, 'pids'));
});
