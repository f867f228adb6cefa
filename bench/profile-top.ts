// The top self-time items of one or more V8 CPU profiles (`--cpu-prof` output), as a markdown
// table: each function's share of the profile's sampled time, and µs per unit of work when
// `--per N` gives the number of requests/calls the profiled process measured (warm-up included
// if the profile covers it). Functions are keyed by name, file and line, summed over profiles.
//
//   node --import tsx bench/profile-top.ts /tmp/prof/*.cpuprofile [--top 15] [--per 25000]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '15' }, per: { type: 'string' } },
});

function where(url: string): string {
  if (!url) return '';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return url;
  return basename(url);
}

const self = new Map<string, number>();
let total = 0;
for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!)!;
    const dt = p.timeDeltas[i + 1] ?? 0; // a sample's time is the delta to the next sample
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'}\t${where(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
}
const per = args.per ? Number(args.per) * positionals.length : undefined;
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top));
console.log(`${positionals.length} profile(s), ${(total / 1000).toFixed(0)} ms sampled`);
console.log(`| self % | ${per ? 'µs/unit | ' : ''}function | where |`);
console.log(`| --- | ${per ? '--- | ' : ''}--- | --- |`);
for (const [key, us] of rows) {
  const [fn, loc] = key.split('\t');
  console.log(`| ${((100 * us) / total).toFixed(1)} | ${per ? `${(us / per).toFixed(2)} | ` : ''}${fn} | ${loc} |`);
}
