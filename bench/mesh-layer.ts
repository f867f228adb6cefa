// The mesh layer alone: what `mesh.dispatcher` adds to a request when the network is taken
// away. An in-memory "agent" answers every request the way undici's core does (legacy handler
// calls through undici's own UnwrapHandler, raw headers, one body chunk, in a later macrotask),
// so the difference between `agent.request()` and `meshDispatcher.request()` over that agent is
// exactly the mesh's own work: routing, the call handler, attempts, observers. No sockets means
// no kernel noise, so the figure is steady enough to profile and to run under callgrind:
//
//   bash bench/mesh-layer.sh                          # ns per request, each variant
//   bash bench/mesh-layer.sh --variant features --requests 200000 --cpu-prof
//   valgrind --tool=callgrind node node_modules/.cache/meshlet-bench/mesh-layer.mjs --variant features --requests 20000
//
// Config goes through the real pipeline: an in-process control server, Istio YAML, xDS over
// loopback, our decoders, the engine (bench/cases/http-mesh-config.ts, as bench:overhead uses).
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { Dispatcher } from 'undici';
import { parseConfig } from '../src/config/index.js';
import { createControlServer } from '../src/control/index.js';
import { createMesh } from '../src/mesh/create.js';
import { MeshDispatcher } from '../src/http/dispatcher.js';
import { FEATURES_HOST, meshBenchConfig, PLAIN_HOST } from './cases/http-mesh-config.js';

const { values: args } = parseArgs({
  options: {
    variant: { type: 'string' },
    requests: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '5' },
  },
});

const require = createRequire(import.meta.url);
const undiciMain = require.resolve('undici');
const UnwrapHandler = require(undiciMain.replace(/index\.js$/, 'lib/handler/unwrap-handler.js')) as {
  unwrap(h: Dispatcher.DispatchHandler): LegacyHandler;
};
interface LegacyHandler {
  onConnect(abort: (err?: Error) => void, ctx?: unknown): void;
  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: Buffer[] | null): void;
  onError(err: Error): void;
}

const RAW_HEADERS = [Buffer.from('content-type'), Buffer.from('application/octet-stream'), Buffer.from('content-length'), Buffer.from('2'),
  Buffer.from('date'), Buffer.from('Thu, 03 Dec 2026 18:00:00 GMT'), Buffer.from('connection'), Buffer.from('keep-alive')];
const BODY = Buffer.from('xx');
const noop = (): void => {};

/** Answers like undici's Client: legacy calls on the (unwrapped) handler, in a later macrotask. */
class MemoryAgent extends Dispatcher {
  private queue: LegacyHandler[] = [];
  private scheduled = false;
  override dispatch(_opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const h = UnwrapHandler.unwrap(handler);
    h.onConnect(noop, {});
    this.queue.push(h);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }
  private flush(): void {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    for (const h of q) {
      h.onHeaders(200, RAW_HEADERS, noop, 'OK');
      h.onData(BODY);
      h.onComplete([]);
    }
  }
  override close(): Promise<void> { return Promise.resolve(); }
  override destroy(): Promise<void> { return Promise.resolve(); }
}

type Variant = 'raw' | 'raw (A/A)' | 'pass-through' | 'pass-through, metrics on' | 'features';
const VARIANTS: Variant[] = ['raw', 'raw (A/A)', 'pass-through', 'pass-through, metrics on', 'features'];

async function loop(d: Dispatcher, origin: string, requests: number, concurrency: number): Promise<number> {
  let issued = 0;
  const one = async (): Promise<void> => {
    const res = await d.request({ origin, path: '/tiny', method: 'GET' });
    for await (const _ of res.body) { /* drain */ }
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  };
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (issued < requests) { issued++; await one(); }
  }));
  const cpu = process.cpuUsage(cpu0);
  return ((cpu.user + cpu.system) * 1000) / requests;
}

async function setup(variant: Variant) {
  const control = await createControlServer({ xdsPort: 0, adminPort: null, stateDir: null });
  await control.store.apply(parseConfig(meshBenchConfig(9), 'bench.yaml').resources);
  const mesh = await createMesh({
    controlPlane: `127.0.0.1:${control.xdsPort}`, service: 'bench-client', strict: true, initialFetchTimeoutMs: 300_000,
    ...(variant === 'pass-through, metrics on' ? { metricsPort: 0 } : {}),
  });
  const agent = new MemoryAgent();
  const observers = (mesh as unknown as { observers: ConstructorParameters<typeof MeshDispatcher>[0]['observers'] }).observers;
  const d = variant.startsWith('raw') ? agent : new MeshDispatcher({ engine: mesh.engine, agent, strict: true, observers });
  const origin = variant === 'features' ? `http://${FEATURES_HOST}` : variant.startsWith('raw') ? 'http://127.0.0.1:9' : `http://${PLAIN_HOST}`;
  return { d, origin, close: async () => { await mesh.close(); await control.close(); } };
}

async function one(variant: Variant): Promise<number> {
  const { d, origin, close } = await setup(variant);
  const requests = Number(args.requests);
  const concurrency = Number(args.concurrency);
  await loop(d, origin, Math.min(20_000, requests), concurrency);
  const ns = await loop(d, origin, requests, concurrency);
  await close();
  return ns;
}

async function main(): Promise<void> {
  if (args.variant) {
    const ns = await one(args.variant as Variant);
    console.log(JSON.stringify({ variant: args.variant, nsPerRequest: Math.round(ns) }));
    return;
  }
  // Every variant in a fresh process, interleaved, so one variant's JIT state cannot colour another's.
  const { execFileSync } = await import('node:child_process');
  const samples = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
  for (let r = 0; r < Number(args.rounds); r++) {
    for (const v of VARIANTS) {
      const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1]!, '--variant', v, '--requests', args.requests!, '--concurrency', args.concurrency!], { encoding: 'utf8' });
      samples.get(v)!.push((JSON.parse(out.trim().split('\n').pop()!) as { nsPerRequest: number }).nsPerRequest);
    }
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = med(samples.get('raw')!);
  console.log(`${args.requests} requests × ${args.rounds} fresh processes per variant, c=${args.concurrency}, node ${process.version}`);
  console.log('| variant | CPU ns/request: median [min–max] | added by the mesh |');
  console.log('| --- | --- | --- |');
  for (const v of VARIANTS) {
    const xs = samples.get(v)!;
    console.log(`| ${v} | ${med(xs)} [${Math.min(...xs)}–${Math.max(...xs)}] | ${v === 'raw' ? '' : `${((med(xs) - base) / 1000).toFixed(2)} µs`} |`);
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
