// One process, one mesh:/// (or raw, RAW=1) echo loop, 16 in flight: a 3,000-call warm-up, then
// CALLS calls between "=== MEASURE START/END" lines. For tools that watch a whole process:
// heap bytes per call by allocating site, and V8's tier-up/deopt trace of the measured window.
//
//   npm run build
//   CALLS=60000 ALLOC_SITES_UNITS=63000 ALLOC_SITES_OUT=/tmp/mesh.txt node --import tsx --import ./bench/lib/alloc-sites.mjs bench/grpc-loop.mts
//   RAW=1 … (raw grpc-js);  DIST=/work/wt/before/dist/index.js … (another checkout's build)
//   node --import tsx --trace-opt --trace-deopt bench/grpc-loop.mts > /tmp/trace.txt
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { parseConfig } from '../src/config/index.js';
import { createControlServer } from '../src/control/index.js';
import { EchoClient, echoCall } from '../src/testing/echo.js';
import { ECHO_HOST, echoServiceEntry } from './lib/grpc-echo-config.js';
const origin = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./grpc-server.ts', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
const [chunk] = (await once(origin.stdout!, 'data')) as [Buffer];
const port = Number(chunk.toString().trim());
const control = await createControlServer({ xdsPort: 0, adminPort: null, debounceMs: 5 });
await control.store.apply(parseConfig(echoServiceEntry(port), 'bench.yaml').resources);
const lib = await import(process.env.DIST ?? '../dist/index.js');
const mesh = await lib.createMesh({ controlPlane: `127.0.0.1:${control.xdsPort}`, service: 'bench-grpc', initialFetchTimeoutMs: 15_000 });
const client = process.env.RAW ? new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) : mesh.grpc.client(EchoClient, `${ECHO_HOST}:9090`);
async function loop(calls: number) { let issued = 0; await Promise.all(Array.from({ length: 16 }, async () => { while (issued++ < calls) await echoCall(client, undefined, 5000); })); }
await loop(3000);
console.log('=== MEASURE START');
await loop(Number(process.env.CALLS ?? 20000));
console.log('=== MEASURE END');
client.close(); await mesh.close(); await control.close(); origin.stdin!.end(); process.exit(0);
