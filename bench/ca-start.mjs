// One control server with a CA (reusing the CA directory the first launch creates), from a built
// checkout's dist/: wall and CPU from the first import until it listens, and RSS then, as JSON.
// Compare two builds by alternating them, one fresh process per launch (bench/RESULTS.md):
//   node bench/ca-start.mjs /path/to/checkout /tmp/ca-dir
const [root, caDir] = process.argv.slice(2);
const t0 = performance.now(); const c0 = process.cpuUsage();
const { createControlServer } = await import(root + '/dist/control/index.js');
const s = await createControlServer({ caDir, xdsPort: 0, adminPort: null, securePort: 0, signerThreads: 1 });
const cpu = process.cpuUsage(c0);
const out = { wall: performance.now() - t0, cpu: (cpu.user + cpu.system) / 1000, rss: process.memoryUsage().rss / 1048576 };
await s.close();
console.log(JSON.stringify(out));
process.exit(0);
