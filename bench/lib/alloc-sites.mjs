// Heap bytes allocated per unit of work, by allocating function: a preload that runs V8's
// sampling heap profiler with collected objects kept (Node's --heap-prof drops every sample the
// GC freed, so short-lived per-request garbage, the part that costs GC time, never shows there).
// At exit it writes the top sites, divided by ALLOC_SITES_UNITS (requests the run made).
//
//   bash bench/mesh-layer.sh --variant raw >/dev/null   # builds node_modules/.cache/meshlet-bench/mesh-layer.mjs
//   ALLOC_SITES_UNITS=200000 ALLOC_SITES_OUT=/tmp/pass.txt node --import ./bench/lib/alloc-sites.mjs \
//     node_modules/.cache/meshlet-bench/mesh-layer.mjs --variant pass-through --requests 200000
//
// Bundle line numbers name the function in the esbuild output; subtract the raw variant's table
// to see what the mesh adds. Sampling (every ALLOC_SITES_INTERVAL bytes, default 512) is
// statistical: rows under ~20 B per unit are noise.
import inspector from 'node:inspector';
import { writeFileSync } from 'node:fs';

const session = new inspector.Session();
session.connect();
session.post('HeapProfiler.enable');
session.post('HeapProfiler.startSampling', {
  samplingInterval: Number(process.env.ALLOC_SITES_INTERVAL ?? 512),
  includeObjectsCollectedByMinorGC: true,
  includeObjectsCollectedByMajorGC: true,
});

process.on('exit', () => {
  // A same-thread inspector session answers synchronously, so this still runs inside 'exit'.
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (err) return void process.stderr.write(`alloc-sites: ${err.message}\n`);
    const bySite = new Map();
    const stack = [result.profile.head];
    while (stack.length > 0) {
      const node = stack.pop();
      const f = node.callFrame;
      if (node.selfSize > 0) {
        const site = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
        bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
      }
      stack.push(...node.children);
    }
    const units = Number(process.env.ALLOC_SITES_UNITS ?? 1);
    const total = [...bySite.values()].reduce((a, b) => a + b, 0);
    const rows = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.ALLOC_SITES_TOP ?? 40));
    const text = [`total ${Math.round(total / units)} B per unit (${units} units)`, ...rows.map(([site, bytes]) => `${String(Math.round(bytes / units)).padStart(7)}  ${site}`)].join('\n');
    const out = process.env.ALLOC_SITES_OUT;
    if (out) writeFileSync(out, `${text}\n`);
    else process.stderr.write(`${text}\n`);
  });
});
