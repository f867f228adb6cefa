// The top self-time items of one or more V8 CPU profiles (`--cpu-prof`, or the overhead benches'
// `--profile`), as a markdown table: each function's share of the on-CPU samples ("(idle)", the
// event loop waiting in epoll, is left out and reported apart), and µs per unit of work when
// `--cpu-us X` gives the process's measured CPU per request/call (share × X). Functions are keyed
// by name, file and line, summed over profiles.
//
//   node --import tsx bench/profile-top.ts /tmp/prof/*.cpuprofile [--top 15] [--cpu-us 41.2]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '15' }, 'cpu-us': { type: 'string' } },
});

function where(url: string): string {
  if (!url) return '';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+\/.*)$/.exec(url);
  if (m) return m[1]!;
  const d = /\/(dist\/.*)$/.exec(url);
  if (d) return d[1]!;
  if (url.startsWith('node:')) return url;
  return basename(url);
}

const self = new Map<string, number>();
let total = 0;
let idle = 0;
for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!)!;
    const dt = p.timeDeltas[i + 1] ?? 0; // a sample's time is the delta to the next sample
    const f = n.callFrame;
    if (f.functionName === '(idle)') { idle += dt; continue; }
    const key = `${f.functionName || '(anonymous)'}\t${where(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
}
// Where the on-CPU time goes by owner: meshlet's bundle, each package, Node's internals, V8.
const groups = new Map<string, number>();
for (const [key, us] of self) {
  const loc = key.split('\t')[1]!;
  const g = loc.startsWith('dist/') ? 'meshlet (dist)' : loc.startsWith('node:') ? 'node internals' : /^(@[^/]+\/)?[^/:]+\//.test(loc) ? loc.split('/').slice(0, loc.startsWith('@') ? 2 : 1).join('/') : loc === '' ? `V8/native: ${key.split('\t')[0]}` : 'other (bench harness, wasm)';
  groups.set(g, (groups.get(g) ?? 0) + us);
}
const cpuUs = args['cpu-us'] ? Number(args['cpu-us']) : undefined;
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top));
console.log(`${positionals.length} profile(s): ${(total / 1000).toFixed(0)} ms on CPU, ${(idle / 1000).toFixed(0)} ms idle (left out)`);
console.log(`by owner: ${[...groups].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([g, us]) => `${g} ${((100 * us) / total).toFixed(1)}%`).join(', ')}`);
console.log(`| self % | ${cpuUs ? 'µs/unit | ' : ''}function | where |`);
console.log(`| --- | ${cpuUs ? '--- | ' : ''}--- | --- |`);
for (const [key, us] of rows) {
  const [fn, loc] = key.split('\t');
  console.log(`| ${((100 * us) / total).toFixed(1)} | ${cpuUs ? `${((cpuUs * us) / total).toFixed(2)} | ` : ''}${fn} | ${loc} |`);
}
