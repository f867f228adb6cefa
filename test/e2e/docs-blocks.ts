// The code blocks of the Markdown docs, and how docs.test.ts runs each kind: ts/js as ES modules
// against the checkout (`meshlet-node` resolves to src/ through tsconfig paths), sh through bash
// with `meshlet` meaning this checkout's bin/meshlet.js and Istio's fixed ports replaced by free
// ones, yaml through `meshlet analyze`. A block marked `no-run` is not executed (and counted).

/** One fenced block: ```lang attr attr=value. */
export interface Block {
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  attrs: Record<string, string | true>;
  code: string;
}

export const RUNNABLE = new Set(['ts', 'typescript', 'js', 'javascript', 'sh', 'bash', 'shell', 'yaml', 'yml']);

/** Every fenced block of a Markdown text (indented fences inside list items included). */
export function extractBlocks(doc: string, text: string): Block[] {
  const out: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const attrs: Record<string, string | true> = {};
    for (const a of open[3]!.split(/\s+/).filter(Boolean)) {
      const eq = a.indexOf('=');
      if (eq < 0) attrs[a] = true;
      else attrs[a.slice(0, eq)] = a.slice(eq + 1);
    }
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) body.push(lines[j]!.slice(Math.min(indent, /^\s*/.exec(lines[j]!)![0].length)));
    if (j === lines.length) throw new Error(`${doc}:${i + 1}: unclosed code block`);
    out.push({ doc, line: i + 1, lang: open[2]!.toLowerCase(), attrs, code: body.join('\n') + '\n' });
    i = j;
  }
  return out;
}

/** The free ports one doc's blocks use in place of Istio's 15010 / 15012 / 15014. */
export interface Ports { xds: number; secure: number; admin: number }

/** Replaces the well-known ports with this run's free ones. */
export function withPorts(code: string, ports: Ports): string {
  return code.replace(/\b15010\b/g, String(ports.xds)).replace(/\b15012\b/g, String(ports.secure)).replace(/\b15014\b/g, String(ports.admin));
}

/**
 * An sh block as a bash script: `meshlet`/`npx meshlet` run this checkout's CLI, `npx tsx F`
 * runs F with tsx, `cmd &` starts a background process whose PID is recorded (the test stops
 * it by that PID when the block ends) and the next command waits until the control server's
 * admin port answers; `npm install …` lines are checked instead of run (see `installed`).
 */
export function shScript(code: string, bin: string, waitScript: string, installed: (pkg: string) => boolean): { script: string; problems: string[] } {
  const problems: string[] = [];
  const out = ['set -euo pipefail'];
  let background = false;
  for (const raw of code.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    const npm = /^npm (?:i|install|add)\s+(.*)$/.exec(line);
    if (npm) {
      for (const pkg of npm[1]!.split(/\s+/).filter((p) => !p.startsWith('-'))) {
        if (!installed(pkg.replace(/(.)@[^/]*$/, '$1'))) problems.push(`npm install names ${pkg}, which this checkout does not have`);
      }
      continue;
    }
    if (/^npm\b/.test(line)) { problems.push(`cannot run "${line}" from a doc block (mark it no-run)`); continue; }
    if (background) out.push(`node ${JSON.stringify(waitScript)}`);
    let cmd = line.replace(/(^|&&\s*|\|\s*)(?:npx\s+)?meshlet\b/g, `$1node ${JSON.stringify(bin)}`).replace(/(^|&&\s*)npx tsx\b/g, '$1node --import tsx');
    // A control server the doc starts on Istio's default ports gets this run's free ones.
    if (/meshlet\.js"? control\b/.test(cmd)) {
      const extra = [
        ...(/--xds-port/.test(cmd) ? [] : ['--xds-port "$DOCS_XDS_PORT"']),
        ...(/--admin-port/.test(cmd) ? [] : ['--admin-port "$DOCS_ADMIN_PORT"']),
        ...(/--ca-dir/.test(cmd) && !/--secure-port/.test(cmd) ? ['--secure-port "$DOCS_SECURE_PORT"'] : []),
      ].join(' ');
      if (extra) cmd = / &$/.test(cmd) ? cmd.replace(/ &$/, ` ${extra} &`) : `${cmd} ${extra}`;
    }
    background = / &$/.test(cmd);
    if (background) {
      if (/meshlet\.js"? control\b/.test(cmd) && !/--no-state|--state-dir/.test(cmd)) cmd = cmd.replace(/ &$/, ' --no-state &');
      cmd = `${cmd} echo $! >> "$DOCS_PIDS"`;
    }
    out.push(cmd);
  }
  return { script: out.join('\n') + '\n', problems };
}

/** `--host` flags for `meshlet analyze` that make every host a yaml block names served, with the labels of its subsets. */
export function analyzeHosts(resources: Array<{ kind: string; spec: unknown }>): string[] {
  const flags = new Set<string>();
  const visit = (v: unknown, key?: string): void => {
    if (Array.isArray(v)) return v.forEach((x) => visit(x));
    if (v === null || typeof v !== 'object') {
      if (key === 'host' && typeof v === 'string' && !v.startsWith('*')) flags.add(v);
      return;
    }
    for (const [k, x] of Object.entries(v)) visit(x, k);
  };
  for (const r of resources) {
    visit(r.spec);
    if (r.kind === 'VirtualService') for (const h of ((r.spec as { hosts?: string[] }).hosts ?? [])) if (!h.startsWith('*')) flags.add(h);
    if (r.kind === 'DestinationRule') {
      const spec = r.spec as { host: string; subsets?: Array<{ labels?: Record<string, string> }> };
      for (const s of spec.subsets ?? []) {
        const labels = Object.entries(s.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
        if (labels) flags.add(`${spec.host}:${labels}`);
      }
    }
  }
  return [...flags].flatMap((h) => ['--host', h]);
}

/**
 * A one-shot CLI line (`meshlet get vs`, `npx meshlet token create … > t.token`) that can run
 * in the test's own process through the CLI's `main()`: no background, pipe, chain or quotes.
 */
export function cliLine(raw: string): { argv: string[]; stdout?: string } | undefined {
  const line = raw.replace(/(^|\s)#.*$/, '').trim();
  const m = /^(?:npx\s+)?meshlet\s+(.*?)(?:\s+>\s*(\S+))?$/.exec(line);
  if (!m || /[&|;'"`$<>()]/.test(m[1]!) || /^(control|demo)\b/.test(m[1]!)) return undefined;
  return { argv: m[1]!.split(/\s+/).filter(Boolean), ...(m[2] ? { stdout: m[2] } : {}) };
}
