// Why xxhash-wasm and not @node-rs/xxhash (issue 10 item 7): load time, cost per short key,
// building a 1,024-point ring, RSS — one fresh process per variant and run.
// Usage: node bench/xxhash-choice.mjs wasm|native   (native needs `npm i @node-rs/xxhash` in a
// scratch directory with this file; it is not a dependency). Prints one JSON line.
import { performance } from 'node:perf_hooks';

const which = process.argv[2] ?? 'wasm';
const t0 = performance.now();
let h64;
if (which === 'wasm') {
  const { default: xx } = await import('xxhash-wasm');
  const api = await xx();
  h64 = (s) => api.h64(s, 0n);
} else {
  const m = await import('@node-rs/xxhash');
  h64 = (s) => m.xxh64(s, 0n);
}
const initMs = performance.now() - t0;
const keys = Array.from({ length: 1000 }, (_, i) => `user-${i}-abcdef`);
const ringKeys = Array.from({ length: 1024 }, (_, i) => `10.0.0.${i % 4}:8080_${i}`);
let sink = 0n;
for (let r = 0; r < 3; r++) for (let i = 0; i < 200_000; i++) sink ^= h64(keys[i % 1000]);
const N = 1_000_000;
let t = performance.now();
for (let i = 0; i < N; i++) sink ^= h64(keys[i % 1000]);
const nsPerHash = ((performance.now() - t) * 1e6) / N;
t = performance.now();
for (let r = 0; r < 100; r++) for (const k of ringKeys) sink ^= h64(k);
const ring1024Ms = (performance.now() - t) / 100;
console.log(JSON.stringify({
  which, initMs: +initMs.toFixed(2), nsPerHash: +nsPerHash.toFixed(1), ring1024Ms: +ring1024Ms.toFixed(3),
  check: h64('hello').toString(16), rssMiB: +(process.memoryUsage().rss / 1048576).toFixed(1), sink: sink !== 0n,
}));
