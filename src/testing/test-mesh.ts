/**
 * `createTestMesh()`: a control server on port 0 in this process, meshes and backends pointed at
 * it, config applied and faults injected through it — each step resolving only once every mesh
 * has answered (ACK or NACK) what it changed — and seeded randomness for replayable tests.
 */
import type { RequestListener } from 'node:http';
import { createControlServer, type ControlServer } from '../control/index.js';
import { createMesh } from '../mesh/create.js';
import type { Mesh, MeshOptions } from '../mesh/types.js';
import { meshError } from '../errors.js';
import type { Disposable } from '../internal/events.js';
import { seededRandom, type SeededRandom } from '../internal/prng.js';
import { ConfigSync, parseInput, type ApplyInput } from './config-sync.js';
import type { FaultSpec } from './fault.js';
import { filterRecords, recordingObserver, type RecordFilter, type TestRecord } from './records.js';
import { ManualClock } from './clock.js';
import { startBackend, type BackendOptions, type TestBackend } from './backend.js';

/**
 * Options of {@link createTestMesh}.
 *
 * @example
 * ```ts
 * const t = await createTestMesh({ seed: 42, clock: true });
 * ```
 */
export interface TestMeshOptions {
  /**
   * Seed of every random decision the meshes make (fault rolls, weighted routes, load-balancer
   * picks, retry jitter) and of backend resets. Default: a random seed, shown as `t.seed` so a
   * failing run can be replayed with it.
   */
  seed?: number | string;
  /** Namespace of the meshes and backends. Default `default`. */
  namespace?: string;
  /**
   * `true` (or a {@link ManualClock}): the meshes read time and arm their call timers on this
   * clock (`t.clock`), which moves only on `t.clock.advance(ms)`. See README "Testing your
   * service" for what honours it.
   */
  clock?: boolean | ManualClock;
  /** Deadline of each wait for the meshes to answer a change, ms (real time). Default 10 000. */
  settleTimeoutMs?: number;
  /** Records kept (the latest ones). Default 10 000. */
  maxRecords?: number;
}

/**
 * Options of {@link TestMesh.mesh}: `createMesh()`'s, minus what the kit sets.
 *
 * @example
 * ```ts
 * const pp = await t.mesh('productpage', { labels: { version: 'v1' }, strict: true });
 * ```
 */
export type TestMeshClientOptions = Omit<MeshOptions, 'controlPlane' | 'service' | 'random' | 'signal'>;

/**
 * A fault in force; `dispose()` removes it and resolves once every mesh answered.
 *
 * @example
 * ```ts
 * const f: ActiveFault = await t.fault({ service: 'ratings', delay: { fixedDelay: '200ms', percentage: 100 } });
 * await f.dispose();
 * ```
 */
export interface ActiveFault {
  readonly spec: FaultSpec;
  dispose(): Promise<void>;
}

/**
 * What `t.fault()` returns: await it (or `ready`) before the calls it should affect.
 *
 * @example
 * ```ts
 * const f = t.fault({ service: 'ratings', abort: { httpStatus: 503, percentage: 10 } });
 * await f.ready;   // or: const active = await f;
 * await f.dispose();
 * ```
 */
export interface PendingFault extends PromiseLike<ActiveFault> {
  readonly spec: FaultSpec;
  /** Resolves once every mesh has the fault. */
  readonly ready: Promise<void>;
  dispose(): Promise<void>;
}

/**
 * A running test mesh (see {@link createTestMesh}).
 *
 * @example
 * ```ts
 * const t: TestMesh = await createTestMesh({ seed: 42 });
 * await t.apply('apiVersion: networking.istio.io/v1\nkind: VirtualService\n…');
 * t.records({ source: 'productpage', service: 'reviews' });
 * await t.close();
 * ```
 */
export interface TestMesh {
  /** The seed in use (the one given, or the random one picked). */
  readonly seed: number | string;
  readonly control: ControlServer;
  /** `127.0.0.1:<port>` of the control server's xDS port. */
  readonly controlPlane: string;
  /** The manual clock, with `createTestMesh({ clock: true })`. */
  readonly clock: ManualClock | undefined;
  /** A mesh for `service` (its `app` label set to the service unless given). */
  mesh(service: string, options?: TestMeshClientOptions): Promise<Mesh>;
  /** A real HTTP or gRPC server on port 0, announced as `service` at `options.port`. */
  backend(service: string, options: BackendOptions, handler?: RequestListener): Promise<TestBackend>;
  /** Applies Istio resources (YAML text, an object or an array); resolves once every mesh answered. */
  apply(input: ApplyInput): Promise<void>;
  /** Injects a fault (VirtualService `fault` semantics) for a service; see {@link FaultSpec}. */
  fault(spec: FaultSpec): PendingFault;
  /** What each finished outbound call did, oldest first. */
  records(filter?: RecordFilter): TestRecord[];
  /** Forgets the records so far. */
  clearRecords(): void;
  /** Closes every mesh and backend, then the control server. Idempotent. */
  close(): Promise<void>;
}

interface Member {
  service: string;
  random: SeededRandom;
  mesh: Mesh;
  records: Disposable;
}

/**
 * Starts a test mesh: an in-process control server (memory store, xDS on port 0, no admin API).
 *
 * @example
 * ```ts
 * import { createTestMesh } from 'meshlet-node/testing';
 * const t = await createTestMesh({ seed: 42 });
 * const pp = await t.mesh('productpage', { labels: { version: 'v1' } });
 * await t.backend('ratings', { port: 9080 }, (req, res) => res.end('5 stars'));
 * const f = await t.fault({ service: 'ratings', abort: { httpStatus: 503, percentage: 10 } });
 * const res = await pp.fetch('http://ratings:9080/');
 * t.records({ service: 'ratings' }); // [{ route: 'default', status: 200 or 503, flags: [] or ['FI'], … }]
 * await f.dispose();
 * await t.close();
 * ```
 */
export async function createTestMesh(options: TestMeshOptions = {}): Promise<TestMesh> {
  const seed = options.seed ?? Math.floor(Math.random() * 0x1_0000_0000);
  if (typeof seed !== 'number' && typeof seed !== 'string') throw meshError('MESHLET_ERR_CONFIG', 'createTestMesh(): seed must be a number or a string');
  const namespace = options.namespace ?? 'default';
  const clock = options.clock === true ? new ManualClock() : options.clock || undefined;
  const settleMs = options.settleTimeoutMs ?? 10_000;
  const maxRecords = options.maxRecords ?? 10_000;
  const control = await createControlServer({ xdsPort: 0, adminPort: null, stateDir: null, warmupMs: 0, withdrawGraceMs: 0, debounceMs: 5 });
  const controlPlane = `${control.host}:${control.xdsPort}`;
  const sync = new ConfigSync(control.store, namespace);
  const members: Member[] = [];
  const backends: TestBackend[] = [];
  const records: TestRecord[] = [];
  let generation = 0;
  let queue: Promise<unknown> = Promise.resolve();
  let closing: Promise<void> | undefined;

  /** Runs kit operations one at a time, in call order. */
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(() => {
      if (closing) throw meshError('MESHLET_ERR_CLOSED', 'test mesh used after close()');
      return fn();
    });
    queue = run.catch(() => {});
    return run;
  };

  /**
   * Waits until every mesh answered, then restarts each mesh's random sequence at a state given
   * by (seed, service, position, step): draws made while config arrived (their number depends
   * on timing) do not shift the decisions of the calls that follow.
   */
  const settle = async (): Promise<void> => {
    const nacks: string[] = [];
    const sub = control.on('nack', (e) => nacks.push(`${e.client} rejected ${e.typeUrl}: ${e.message}`));
    try {
      await control.settled(settleMs);
    } finally {
      sub.dispose();
    }
    generation++;
    const count = new Map<string, number>();
    for (const m of members) {
      const i = count.get(m.service) ?? 0;
      count.set(m.service, i + 1);
      m.random.reseed(`${seed}|${m.service}#${i}|${generation}`);
    }
    for (const b of backends) b.reseed(`${seed}|backend:${b.service}|${generation}`);
    if (nacks.length > 0) throw meshError('MESHLET_ERR_XDS_INVALID', `a mesh rejected the config: ${nacks.join('; ')}`);
  };

  const join = async (service: string, opts: TestMeshClientOptions = {}): Promise<Member> => {
    if (typeof service !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(service)) {
      throw meshError('MESHLET_ERR_CONFIG', `test mesh: service name "${String(service).slice(0, 64)}" is not a DNS label`);
    }
    const random = seededRandom(`${seed}|${service}`);
    const mesh = await createMesh({
      drainTimeoutMs: 500,
      ...opts,
      ...(clock && opts.clock === undefined ? { clock } : {}),
      controlPlane,
      service,
      namespace,
      labels: { app: service, ...opts.labels },
      random,
    } as MeshOptions);
    const member: Member = { service, random, mesh, records: mesh.observe(recordingObserver(service, records, maxRecords)) };
    members.push(member);
    return member;
  };

  const resetShare = (service: string): number => {
    const fqdn = sync.fqdn(service);
    return sync.resets().filter((r) => r.fqdn === fqdn).reduce((max, r) => Math.max(max, r.percentage), 0);
  };

  const t: TestMesh = {
    seed,
    control,
    controlPlane,
    clock,
    mesh: (service, opts) => serial(async () => {
      const m = await join(service, opts);
      await settle();
      return m.mesh;
    }),
    backend: (service, opts, handler) => serial(async () => {
      const m = await join(service, { labels: opts.labels ?? {}, ...(opts.mesh ?? {}) });
      const backend = await startBackend(m.mesh, service, opts, handler, () => resetShare(service), seededRandom(`${seed}|backend:${service}`));
      backends.push(backend);
      await waitForEndpoint(control, sync.fqdn(service), backend.port, settleMs);
      await settle();
      return backend;
    }),
    apply: (input) => serial(async () => {
      sync.addUser(parseInput(input, namespace));
      await sync.write();
      await settle();
    }),
    fault(spec) {
      // Validated now: a bad spec throws here rather than from the await.
      const n = sync.addFault(spec);
      let disposing: Promise<void> | undefined;
      const dispose = (): Promise<void> => (disposing ??= serial(async () => {
        if (sync.removeFault(n) && (await sync.write())) await settle();
      }));
      const ready = serial(async () => {
        try {
          if (await sync.write()) await settle();
        } catch (err) {
          // Not in force after all (a mesh NACKed, or the wait timed out): take it back out.
          if (sync.removeFault(n)) await sync.write().catch(() => {});
          throw err;
        }
      });
      // `const f = t.fault(…)` without an await must not turn a failure into an unhandled rejection.
      ready.catch(() => {});
      const active: ActiveFault = { spec, dispose };
      return { spec, ready, dispose, then: (ok, fail) => ready.then(() => active).then(ok, fail) };
    },
    records: (filter) => filterRecords(records, filter),
    clearRecords: () => void records.splice(0),
    close: () => (closing ??= (async () => {
      await queue;
      for (const m of members) m.records.dispose();
      // Callers first (nothing new is sent), then the backends' meshes, then the control server.
      const results = await Promise.allSettled([...members].reverse().map((m) => m.mesh.close()));
      await Promise.allSettled(backends.map((b) => b.close()));
      await control.close();
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    })()),
  };
  return t;
}

/** Polls the control server's registry (in-memory) until the endpoint is announced. */
async function waitForEndpoint(control: ControlServer, fqdn: string, port: number, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const s = control.services().find((x) => x.hostname === fqdn);
    if (s?.endpoints.some((e) => Object.values(e.ports).includes(port))) return;
    if (performance.now() > until) throw meshError('MESHLET_ERR_TIMEOUT', `backend ${fqdn} (port ${port}) was not registered within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
