// What tracing costs per request, HTTP and gRPC: one process holds a meshed server and a mesh
// client calling it (closed loop, 16 in flight), so the CPU per request covers both a client
// span and a server span. Variants, each a fresh process, launches interleaved:
//   no tracing code     createMesh({ telemetry: { tracing: false, accessLog: false } }): the
//                       telemetry observer and stage are never attached (A/A: twice)
//   tracing off         the default: @opentelemetry/api loaded, no SDK registered
//   SDK 100% / SDK 1%   an SDK registered (BasicTracerProvider + BatchSpanProcessor into a
//                       discarding exporter), sampling from a Telemetry resource
//                       (randomSamplingPercentage 100 / 1) pushed by the control server
//   … (before)          with `--before <dir>`: the same, loading meshlet from <dir>/src (a copy
//                       of an earlier commit's sources, e.g. `git archive <rev> src | tar -x -C
//                       <dir>` plus generated/ and a node_modules link), so a change is measured
//                       against its parent in one run
//
// First, in this process, the code tracing adds while no SDK is registered, per call, in ns.
//
//   node --import tsx bench/tracing.ts [--rounds 3] [--requests 5000] [--source] [--micro-only] [--protocols http,grpc] [--before <dir>] [--kinds a,b] [--callgrind --warmup 300]
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { track, untrack } from './lib/cleanup.js';
import { startControlProcess } from './lib/control-process.js';
import { callgrindTable, interleaved, median, runFreshChild } from './lib/fresh-process.js';
import { pinPid, SERVER_CPU } from './lib/pin.js';
import { meshLib } from './lib/mesh-lib.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    requests: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '16' },
    source: { type: 'boolean', default: false },
    'micro-only': { type: 'boolean', default: false },
    /** Comma-separated: http,grpc (default both). */
    protocols: { type: 'string', default: 'http,grpc' },
    /** A directory holding an earlier copy of the sources (`<dir>/src/index.ts`): adds "(before)" rows. */
    before: { type: 'string' },
    /** Comma-separated subset of the variant kinds (default: all). */
    kinds: { type: 'string' },
    /** Warm-up requests per launch (the same for every launch, so callgrind's n and 3n runs cancel it). */
    warmup: { type: 'string', default: '3000' },
    /** Instructions per request under valgrind's callgrind instead of CPU time (repeatable on a loaded machine). */
    callgrind: { type: 'boolean', default: false },
    child: { type: 'string' },
    xds: { type: 'string' },
  },
});

const ALL_KINDS = ['no tracing code', 'no tracing code (A/A)', 'tracing off (no SDK)', 'SDK 100%', 'SDK 1%', 'tracing off (no SDK) (before)', 'SDK 100% (before)', 'SDK 1% (before)'] as const;
const KINDS = ALL_KINDS.filter((k) => (args.before !== undefined || !k.endsWith('(before)')) && (args.kinds === undefined || args.kinds.split(',').includes(k)));
const VARIANTS = (['http', 'grpc'] as const).filter((p) => args.protocols!.split(',').includes(p)).flatMap((p) => KINDS.map((k) => `${p}: ${k}`));
interface Sample { cpuUs: number; rps: number; errors: number; spans: number }

const LISTENER = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const TELEMETRY = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: bench-all, namespace: default }
spec:
  selector: { matchLabels: { bench-sampling: all } }
  tracing: [{ randomSamplingPercentage: 100 }]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: bench-one, namespace: default }
spec:
  selector: { matchLabels: { bench-sampling: one } }
  tracing: [{ randomSamplingPercentage: 1 }]
`;

const json = { serialize: (v: unknown) => Buffer.from(JSON.stringify(v ?? null)), deserialize: (b: Buffer) => JSON.parse(b.toString() || 'null') as unknown };
const ECHO: grpc.ServiceDefinition = {
  Echo: { path: '/bench.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
};
const EchoClient = grpc.makeGenericClientConstructor(ECHO, 'bench.Echo');

async function loop(one: () => Promise<boolean>, requests: number, concurrency: number): Promise<Omit<Sample, 'spans'>> {
  let issued = 0;
  let errors = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (issued < requests) { issued++; if (!(await one().catch(() => false))) errors++; }
  }));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / requests, rps: (requests * 1000) / ms, errors };
}

async function child(id: string): Promise<void> {
  const [protocol, full] = id.split(': ') as ['http' | 'grpc', (typeof ALL_KINDS)[number]];
  const before = full.endsWith(' (before)');
  const kind = full.replace(' (before)', '') as (typeof ALL_KINDS)[number];
  let spans = 0;
  if (kind.startsWith('SDK')) {
    const { trace } = await import('@opentelemetry/api');
    const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
    const discard = { export: (s: unknown[], done: (r: { code: number }) => void) => { spans += s.length; done({ code: 0 }); }, shutdown: async () => {} };
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(discard as never)] }));
  }
  const lib = before ? (await import(pathToFileURL(join(args.before!, 'src/index.ts')).href)) as Awaited<ReturnType<typeof meshLib>> : await meshLib(args.source);
  const service = `echo-${process.pid}`;
  const mesh = await lib.createMesh({
    controlPlane: `127.0.0.1:${args.xds}`, service, initialFetchTimeoutMs: 15_000,
    labels: { app: service, ...(kind === 'SDK 100%' ? { 'bench-sampling': 'all' } : kind === 'SDK 1%' ? { 'bench-sampling': 'one' } : {}) },
    ...(kind.startsWith('no tracing code') ? { telemetry: { tracing: false, accessLog: false } } : {}),
  });
  let one: () => Promise<boolean>;
  let close: () => Promise<void>;
  const port = protocol === 'http' ? 9080 : 9090;
  if (protocol === 'http') {
    const served = await mesh.listen((_req, res) => res.end('ok'), { port: 0, servicePort: 9080 });
    one = async () => {
      const res = await mesh.dispatcher.request({ origin: `http://${service}:9080`, path: '/', method: 'GET' });
      for await (const _ of res.body) { /* drain */ }
      return res.statusCode === 200;
    };
    close = () => served.close();
  } else {
    const g = mesh.grpc.createServer({ servicePort: 9090, drainTimeoutMs: 200 });
    g.server.addService(ECHO, { Echo: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { ok: true }) });
    await g.bind('127.0.0.1:0');
    const c = mesh.grpc.client(EchoClient, `${service}:9090`) as unknown as { Echo(m: unknown, cb: (e: Error | null) => void): void; close(): void };
    one = () => new Promise((resolve) => c.Echo({}, (err) => resolve(err === null)));
    close = async () => { c.close(); await g.close(); };
  }
  // Routed, and (SDK variants) the Telemetry's sampling in the inbound listener.
  const want = kind === 'SDK 100%' ? 100 : kind === 'SDK 1%' ? 1 : undefined;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const telemetry = (mesh.xds.all(LISTENER as never) as ReadonlyMap<string, { telemetry?: { samplingPercent?: number } }>).get(`xds.istio.io/grpc/lds/inbound/0.0.0.0:${port}`)?.telemetry;
    if ((await one().catch(() => false)) && (want === undefined || telemetry?.samplingPercent === want)) break;
    if (Date.now() > deadline) throw new Error(`${id}: not routed (or no Telemetry) after 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const requests = Number(args.requests);
  const concurrency = Number(args.concurrency);
  await loop(one, Number(args.warmup), concurrency); // warm-up
  spans = 0;
  const sample = await loop(one, requests, concurrency);
  await close();
  await mesh.close();
  if (kind.startsWith('SDK')) {
    const { trace } = await import('@opentelemetry/api');
    await (trace.getTracerProvider() as unknown as { getDelegate(): { forceFlush(): Promise<void> } }).getDelegate().forceFlush();
  }
  process.stdout.write(`${JSON.stringify({ ...sample, spans: spans / requests })}\n`);
}

/**
 * The per-request code tracing adds while no SDK is registered, in isolation (ns per call; the
 * end-to-end rows cannot resolve a fraction of a µs on a shared VM): the observers' gate, the
 * handler's scope check, the gRPC caller-scope capture; each beside its no-tracing counterpart.
 */
async function micro(): Promise<void> {
  const { CallObservers } = await import('../src/core/observer.js');
  const { CallTelemetry } = await import('../src/telemetry/call-telemetry.js');
  const { loadTracing } = await import('../src/telemetry/tracing.js');
  const { runHandlerInScope, currentScope } = await import('../src/telemetry/context.js');
  const { EventEmitter } = await import('node:events');
  const tracing = await loadTracing({});
  const calls = new CallTelemetry({ service: 's', namespace: 'default', domainSuffix: 'cluster.local', address: '127.0.0.1' }, tracing, undefined);
  const none = new CallObservers();
  const gated = new CallObservers();
  gated.add(calls, () => calls.enabled());
  const state: Record<string, unknown> = {};
  const req = new EventEmitter();
  let sink = 0;
  const fn = (): void => { sink++; };
  const N = 5_000_000;
  const time = (f: () => void): number => {
    for (let i = 0; i < 200_000; i++) f();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) f();
    return Number(process.hrtime.bigint() - t0) / N;
  };
  const rows: Array<[string, () => void, () => void]> = [
    ['outbound: observers.current() (gated telemetry observer, no SDK) vs none', () => { if (gated.current()) sink++; }, () => { if (none.current()) sink++; }],
    ['inbound: handler run through runHandlerInScope (no scope) vs called directly', () => runHandlerInScope(state, req, fn), fn],
    ['gRPC: currentScope() per call vs nothing', () => { if (currentScope()) sink++; }, () => { sink++; }],
  ];
  console.log('| tracing off, per call | with tracing code (ns) | without (ns) | added (ns) |');
  console.log('| --- | --- | --- | --- |');
  for (const [name, a, b] of rows) {
    const samples: Array<[number, number]> = [];
    for (let r = 0; r < 5; r++) samples.push([time(a), time(b)]);
    const with_ = median(samples.map((x) => x[0]));
    const without = median(samples.map((x) => x[1]));
    console.log(`| ${name} | ${with_.toFixed(1)} | ${without.toFixed(1)} | ${(with_ - without).toFixed(1)} |`);
  }
  if (sink < 0) console.log(sink);
  if (args.before !== undefined) await microUnsampled(N / 5);
}

/**
 * The telemetry code of one unsampled call with an SDK registered at 1% (random() fixed above
 * 1%), outbound (observer onStart + onEnd) and inbound (stage onRequest + onEnd), this tree's
 * code beside `--before`'s, in this process: what the per-request work costs without the I/O
 * and scheduling noise of the end-to-end rows. A server span's AsyncLocalStorage scope and the
 * headers' cost on the wire are not in it (the end-to-end rows have them).
 */
async function microUnsampled(n: number): Promise<void> {
  const { trace } = await import('@opentelemetry/api');
  const { BasicTracerProvider } = await import('@opentelemetry/sdk-trace-base');
  trace.setGlobalTracerProvider(new BasicTracerProvider());
  const load = async (root: string) => ({
    ct: (await import(pathToFileURL(join(root, 'src/telemetry/call-telemetry.ts')).href)) as typeof import('../src/telemetry/call-telemetry.js'),
    tr: (await import(pathToFileURL(join(root, 'src/telemetry/tracing.ts')).href)) as typeof import('../src/telemetry/tracing.js'),
  });
  const here = new URL('..', import.meta.url).pathname;
  const rows: Array<[string, { out: () => void; in: () => void }]> = [];
  for (const [label, root] of [['this tree', here], ['before', args.before!]] as const) {
    const { ct, tr } = await load(root);
    const tracing = (await tr.loadTracing({}))!;
    const t = new ct.CallTelemetry({ service: 's', namespace: 'default', domainSuffix: 'cluster.local', address: '127.0.0.1' }, tracing, undefined, false, () => 0.5);
    t.sampling = { client: 1, server: 1 };
    const headers: Record<string, string> = {};
    const call = {
      protocol: 'http', method: 'GET', authority: 'reviews', path: '/', routeName: 'r', clusterName: 'outbound|9080||reviews.default.svc.cluster.local',
      flags: [], attempts: 1, status: 200, grpcStatus: undefined, endpoint: undefined, responseBytes: 2, durationMs: 1,
      requestHeader(name: string) { return headers[name]; },
      setRequestHeader(name: string, value: string) { headers[name] = value; },
      callerScope: undefined,
    };
    const inHeaders: Record<string, string> = { host: 'reviews:9080', 'user-agent': 'undici' };
    const view = { protocol: 'http', method: 'GET', path: '/', query: '', host: 'reviews:9080', localPort: 9080, tls: false, peer: { address: '127.0.0.1', port: 1 }, header: (name: string) => inHeaders[name] };
    rows.push([label, {
      out: () => {
        for (const k in headers) delete headers[k];
        const st = t.onStart(call as never);
        t.onEnd(st, call as never);
      },
      in: () => {
        const c = { view, startTime: 0, flags: [], state: {}, native: undefined };
        t.stage.onRequest!(c as never);
        t.stage.onEnd!(c as never, { status: 200, requestBytes: 0, responseBytes: 2, durationMs: 1 } as never);
      },
    }]);
  }
  const time = (f: () => void): number => {
    for (let i = 0; i < 100_000; i++) f();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f();
    return Number(process.hrtime.bigint() - t0) / n;
  };
  console.log('');
  console.log(`| unsampled call, SDK registered at 1%, per call (${n} calls, median of 5) | this tree (ns) | before (ns) |`);
  console.log('| --- | --- | --- |');
  for (const side of ['out', 'in'] as const) {
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < 5; r++) { a.push(time(rows[0]![1][side])); b.push(time(rows[1]![1][side])); }
    console.log(`| ${side === 'out' ? 'outbound: observer onStart + onEnd' : 'inbound: telemetry stage onRequest + onEnd'} | ${median(a).toFixed(0)} | ${median(b).toFixed(0)} |`);
  }
  trace.disable();
}

async function main(): Promise<void> {
  if (!args.callgrind) await micro();
  if (args['micro-only']) return;
  const control = await startControlProcess();
  track(control.pid);
  pinPid(control.pid, SERVER_CPU);
  try {
    await control.admin('/apply', { method: 'POST', body: TELEMETRY });
    const rounds = Number(args.rounds);
    const extra = ['--xds', String(control.xdsPort), '--concurrency', args.concurrency!, '--warmup', args.warmup!, ...(args.source ? ['--source'] : []), ...(args.before ? ['--before', args.before] : [])];
    if (args.callgrind) {
      await callgrindTable(VARIANTS, VARIANTS[0]!, Number(args.requests), `client + server in one process, c=${args.concurrency}, ${args.warmup} warm-up requests`, (id, units) => runFreshChild<Sample & { instructions?: number }>(new URL(import.meta.url), id, [...extra, '--requests', String(units)]));
      return;
    }
    extra.push('--requests', args.requests!);
    const samples = await interleaved(VARIANTS, rounds, (id) => runFreshChild<Sample>(new URL(import.meta.url), id, extra));
    console.log(`client + server in one process, c=${args.concurrency}, ${args.requests} requests per launch × ${rounds} launches per variant, ${args.source ? 'src via tsx' : 'dist bundle (if built)'}, node ${process.version}`);
    console.log('| variant | CPU µs/req (client+server): median [min–max] | vs no tracing code | spans/req | rps (median) | errors |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const id of VARIANTS) {
      const s = samples.get(id)!;
      const base = median(samples.get(`${id.split(': ')[0]}: no tracing code`)!.map((x) => x.cpuUs));
      const cpus = s.map((x) => x.cpuUs);
      const cpu = median(cpus);
      console.log(`| ${id} | ${cpu.toFixed(1)} [${Math.min(...cpus).toFixed(1)}–${Math.max(...cpus).toFixed(1)}] | ${cpu - base >= 0 ? '+' : ''}${(cpu - base).toFixed(2)} | ${median(s.map((x) => x.spans)).toFixed(2)} | ${median(s.map((x) => x.rps)).toFixed(0)} | ${s.reduce((n, x) => n + x.errors, 0)} |`);
    }
  } finally {
    await control.stop();
    untrack(control.pid);
  }
}

if (args.child) child(args.child).catch((err) => { console.error(err); process.exitCode = 1; });
else main().catch((err) => { console.error(err); process.exitCode = 1; });
