import type { Diagnostic } from '../config/types.js';
import { trace } from '../internal/debug.js';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AdminServer } from './admin.js';
import { AdminGuard, type AdminLimits } from './admin-guard.js';
import type { AdsLimits } from './ads-limits.js';
import { AdsServer } from './ads-server.js';
import { GraphScraper, type GraphScrapeOptions } from './graph/scraper.js';
import { AnnouncePolicy } from './announce-policy.js';
import { AnnouncementFile } from './store/announcements.js';
import { DEFAULT_WARMUP_MS, restoredKeepMs, WarmUp } from './warmup.js';
import type { CaChange, CertificateAuthority } from './ca/authority.js';
import type { SecureServer } from './ca/secure-server.js';
import type { ClientStatus, NackEvent, PushEvent } from './ads-stream.js';
import { SnapshotBuilder } from './builder.js';
import { Emitter, type Disposable } from '../internal/events.js';
import { meshError } from '../errors.js';
import type { ServiceModel } from './model.js';
import { DEFAULT_WITHDRAW_GRACE_MS, Registry } from './registry/announcements.js';
import type { AggregateRegistry, ServiceRegistry } from './registry/index.js';
import type { Snapshot } from './snapshot.js';
import { FileStore } from './store/file.js';
import { MemoryStore } from './store/memory.js';
import { PersistentStore } from './store/persistent.js';
import type { ConfigStore } from './store/types.js';

const log = trace('ads');

/** Options of {@link createControlServer}. */
export interface ControlServerOptions {
  /** Plaintext xDS (ADS) port. Default 15010; 0 picks a free port. */
  xdsPort?: number;
  /** Admin HTTP port. Default 15014; 0 picks a free port; `null` disables the admin API. */
  adminPort?: number | null;
  /**
   * Interface to bind. Default `127.0.0.1`: the admin API can change config and has no
   * authentication, so exposing it beyond the host is an explicit choice (`0.0.0.0`).
   */
  host?: string;
  /**
   * Config store. Default: a FileStore over `configDir` when given, else a MemoryStore.
   * `'etcd://host:2379[,host:2379…][/prefix]'`: config, announced endpoints (under this server's
   * lease) and the CA (sealed with the store key) live in etcd, shared by every server on it
   * (needs the optional peer dependency `etcd3`; see store/etcd.ts).
   */
  store?: ConfigStore | `etcd://${string}` | 'memory';
  /** File holding the 32-byte store key that seals the CA in etcd (hex or base64). Default: env MESHLET_STORE_KEY. */
  storeKeyFile?: string;
  /** Lease TTL of this server's announcements in etcd, seconds. Default 15. */
  leaseTtlSeconds?: number;
  /** Directory of Istio YAML to load and watch (ignored when `store` is given). */
  configDir?: string;
  /** Cluster DNS suffix. Default `cluster.local`. */
  domainSuffix?: string;
  /** Debounce of snapshot rebuilds after changes, ms. Default 20. */
  debounceMs?: number;
  /**
   * Re-translate only what a change touches (default true). `false` re-translates the whole
   * config on every change: same output, slower on large configs (benchmarks compare the two).
   */
  incrementalTranslation?: boolean;
  /** How long an announced endpoint outlives its ADS stream, ms. Default 2000. */
  withdrawGraceMs?: number;
  /**
   * CA directory: enables the certificate authority and the secure port. Created (0700) with a
   * self-signed root on first start; an Istio plug-in CA (`ca-cert.pem`, `ca-key.pem`,
   * `cert-chain.pem`, `root-cert.pem`) there is used as the signing intermediate.
   */
  caDir?: string;
  /** TLS port serving certificate signing and xDS (needs `caDir`). Default 15012; 0 picks a free port. */
  securePort?: number;
  /** Trust domain of the CA. Default: the CA root's, else `cluster.local`. */
  trustDomain?: string;
  /** Extra DNS names / IPs in the secure port's certificate (besides loopback and Istio's istiod name). */
  secureServerNames?: string[];
  /** CA signing worker threads. Default: available cores − 1 (1–8). */
  signerThreads?: number;
  /**
   * Directory where announced endpoints (`announcements.json`) and, when the server owns its
   * store, resources applied through the API (`applied.yaml`) are persisted, each written
   * atomically, so a restarted server still serves them. Default, when the server owns its
   * store and `xdsPort` is fixed: a per-user directory under the OS temp dir keyed by (config
   * dir or "memory", host, port), so the same server finds its state again (and never writes
   * into the config directory). `null`, or port 0 (no stable address to come back on): none;
   * the warm-up then holds responses to returning clients after a restart.
   */
  stateDir?: string | null;
  /**
   * Warm-up after start, ms: nothing announced is withdrawn before it ends, and without persisted
   * state responses to reconnecting clients wait for it. Default 10 000; at least the withdraw
   * grace; 0 disables it.
   */
  warmupMs?: number;
  /** ADS limits per connection, stream and request (see DEFAULT_ADS_LIMITS). */
  adsLimits?: Partial<AdsLimits>;
  /**
   * CIDRs announced addresses must fall in (e.g. `['10.0.0.0/8']`). Default: any unicast address;
   * link-local, multicast, unspecified and broadcast addresses are always refused.
   */
  announceNetworks?: string[];
  /** Labels / ports one announcement may carry. Default 64 each. */
  announceLimits?: { maxLabels?: number; maxPorts?: number };
  /**
   * Bearer token the admin API requires on every route but `/healthz`. Required when `host` is
   * beyond loopback. Default: env MESHLET_ADMIN_TOKEN, else none.
   */
  adminToken?: string;
  /** Admin API body size and concurrency (see DEFAULT_ADMIN_LIMITS). */
  adminLimits?: Partial<AdminLimits>;
  /**
   * More service sources (Kubernetes, Consul, …) merged after ServiceEntry config and announced
   * endpoints; Kubernetes sources go first (see control/registry/aggregate.ts).
   */
  serviceRegistries?: readonly ServiceRegistry[];
  /**
   * The dashboard's service graph: scrapes of every announced `/stats/prometheus` endpoint while
   * `GET /graph` is polled (interval, window, timeout, concurrency, size and target bounds; see
   * GraphScrapeOptions). `false` disables it (`GET /graph` answers 404).
   */
  graph?: GraphScrapeOptions | false;
}

/** Event name → payload of {@link ControlServer.on}. */
export interface ControlServerEvents {
  /** A DiscoveryResponse was sent. */
  push: PushEvent;
  /** A client rejected a response. */
  nack: NackEvent;
  /** A config problem appeared (file error, analysis error, untranslatable resource). */
  'config-error': Diagnostic;
}

/** A running control server. */
export interface ControlServer {
  readonly host: string;
  readonly xdsPort: number;
  /** `undefined` when the admin API is disabled. */
  readonly adminPort: number | undefined;
  /** The TLS port (certificate signing + xDS); `undefined` without `caDir`. */
  readonly securePort: number | undefined;
  /** The certificate authority; `undefined` without `caDir`. */
  readonly ca: CertificateAuthority | undefined;
  readonly store: ConfigStore;
  readonly registry: Registry;
  /** Every service source merged; `addRegistry` / `removeRegistry` change the sources while running. */
  readonly serviceRegistry: AggregateRegistry;
  /** The snapshot currently served. */
  snapshot(): Snapshot;
  /** Per-client xDS sync state. */
  clients(): ClientStatus[];
  /** Services (config + announced endpoints) of the current snapshot. */
  services(): ServiceModel[];
  /** Store errors plus analysis/translation problems of the current config. */
  configErrors(): Diagnostic[];
  /** Rebuilds the snapshot now instead of after the debounce. */
  rebuild(): void;
  /**
   * Re-reads the CA directory (what `meshlet control` does on SIGHUP): the signer and trust
   * bundle (`CertificateAuthority.reload`, the steps of a root rotation) and the token revocation
   * list. With the etcd store, the files that changed are then published to etcd, and every other
   * server's watch writes them into its own directory and reloads. A directory that does not load
   * leaves the CA (and etcd) as they were and rejects (MESHLET_ERR_CA_DIR). No CA: MESHLET_ERR_CLOSED.
   *
   * @example
   * ```ts
   * await appendFile(join(caDir, 'root-cert.pem'), newRootPem);
   * const { rootsChanged, published } = await server.reloadCa();
   * ```
   */
  reloadCa(): Promise<CaChange & { revocations: number; published: number }>;
  /**
   * Resolves once no rebuild is pending and every connected client has answered (ACK or NACK)
   * the latest response of every type it subscribes to — what a test waits for after a change
   * instead of sleeping. Rejects with MESHLET_ERR_TIMEOUT after `timeoutMs` (default 5000).
   *
   * @example
   * ```ts
   * await server.store.apply(resources);
   * await server.settled();
   * ```
   */
  settled(timeoutMs?: number): Promise<void>;
  on<E extends keyof ControlServerEvents>(event: E, fn: (payload: ControlServerEvents[E]) => void): Disposable;
  /** Ends every stream, stops listening, clears timers. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the control server: config store → snapshot (translate, encode once) → ADS on
 * `xdsPort`, plus the admin API on `adminPort`.
 *
 * @example
 * ```ts
 * import { createControlServer } from 'meshlet-node/control';
 * const server = await createControlServer({ configDir: './istio', xdsPort: 15010 });
 * server.on('nack', (e) => console.warn(`${e.client} rejected ${e.typeUrl}: ${e.message}`));
 * // …
 * await server.close();
 * ```
 */
export async function createControlServer(options: ControlServerOptions = {}): Promise<ControlServer> {
  const host = options.host ?? '127.0.0.1';
  if (options.securePort !== undefined && options.caDir === undefined) throw meshError('MESHLET_ERR_USAGE', 'securePort needs caDir (the secure port serves the CA)');
  const etcdUrl = typeof options.store === 'string' && options.store !== 'memory' ? options.store : undefined;
  const ownsStore = options.store === undefined || typeof options.store === 'string';
  const adminToken = options.adminToken ?? (process.env['MESHLET_ADMIN_TOKEN'] || undefined);
  // Checked before anything listens: an admin API beyond loopback without a token is refused.
  const guard = options.adminPort === null ? undefined : new AdminGuard({ host, token: adminToken });
  const announcePolicy = new AnnouncePolicy({ ...(options.announceNetworks ? { networks: options.announceNetworks } : {}), ...(options.announceLimits ?? {}) });
  // Loaded only for an etcd store (etcd3 is an optional peer dependency).
  const etcd = etcdUrl === undefined ? undefined : await import('./store/etcd-server.js').then((m) => m.openEtcdBackend(etcdUrl, options));
  // etcd holds what a state directory would (applied config, announcements).
  const stateDir = etcd || options.stateDir === null ? undefined : options.stateDir ?? (ownsStore ? defaultStateDir(options.configDir, host, options.xdsPort ?? 15010) : undefined);
  const baseStore = etcd?.store ?? (typeof options.store === 'object' ? options.store : options.configDir !== undefined ? new FileStore(options.configDir) : new MemoryStore());
  // What is applied through the API survives a restart with the announcements (a store the
  // caller passes persists itself).
  const store = ownsStore && stateDir !== undefined && !etcd ? new PersistentStore(baseStore, stateDir) : baseStore;
  const graceMs = options.withdrawGraceMs ?? DEFAULT_WITHDRAW_GRACE_MS;
  const registry = new Registry({ withdrawGraceMs: graceMs });
  const shared = etcd?.announcements(registry);
  const stateFile = stateDir !== undefined ? new AnnouncementFile(stateDir) : undefined;
  const warmupMs = options.warmupMs === 0 ? 0 : Math.max(options.warmupMs ?? DEFAULT_WARMUP_MS, graceMs);
  const builder = new SnapshotBuilder({
    store,
    registry,
    ...(shared ? { announcements: shared } : {}),
    ...(options.domainSuffix !== undefined ? { domainSuffix: options.domainSuffix } : {}),
    ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}),
    ...(options.incrementalTranslation !== undefined ? { incremental: options.incrementalTranslation } : {}),
    ...(options.serviceRegistries ? { serviceRegistries: options.serviceRegistries } : {}),
  });
  // A state file that exists is the complete list of what was announced (it is written even
  // when empty), so the first snapshot already holds every service of the previous run.
  const saved = stateFile ? await stateFile.load() : undefined;
  // On etcd the view is complete from the start: other servers' announcements are there, and a
  // killed server's stay until its lease runs out, by when its clients have re-announced.
  const warmUp = new WarmUp({ registry, durationMs: warmupMs, restored: saved !== undefined || etcd !== undefined, onEnd: () => ads.push() });
  const ads = new AdsServer({
    snapshot: (proxy, inbound) => builder.snapshotFor(proxy, inbound),
    registry,
    withdrawGraceMs: graceMs,
    announcePolicy,
    warmUp,
    ...(options.adsLimits ? { limits: options.adsLimits } : {}),
  });
  const configErrors = () => [...store.errors(), ...builder.diagnostics];
  const scraper = options.adminPort === null || options.graph === false ? undefined : new GraphScraper(() => ads.clients(), options.graph ?? {});
  const admin = options.adminPort === null ? undefined : new AdminServer({
    store,
    snapshot: () => builder.snapshot,
    clients: () => ads.clients(),
    xdsTraffic: () => ({ ...ads.traffic }),
    services: () => builder.services,
    configErrors,
    configViews: () => ads.configViews(),
    ...(scraper ? { graph: () => scraper.graph() } : {}),
    // The CA opens after the admin port binds; until then they answer MESHLET_ERR_CLOSED (without --ca-dir: 404).
    ...(options.caDir !== undefined ? { tokens: { revoke: (what) => requireCa().revokeToken(what), revoked: () => requireCa().revocations.list() } } : {}),
    ...(guard ? { guard } : {}),
    ...(options.adminLimits ? { limits: options.adminLimits } : {}),
  });
  const configError = new Emitter<Diagnostic>((err) => log('config-error listener threw: %o', err));
  let closed = false;
  let ca: CertificateAuthority | undefined;
  const requireCa = (): CertificateAuthority => {
    if (!ca) throw meshError('MESHLET_ERR_CLOSED', 'the CA is not open (starting or closed)');
    return ca;
  };
  let secure: SecureServer | undefined;
  let caSync: import('./store/etcd-ca.js').CaDirSync | undefined;
  let revocationShare: { close(): Promise<void> } | undefined;
  const close = async () => {
    if (closed) return;
    closed = true;
    builder.close();
    warmUp.close();
    scraper?.close();
    await Promise.all([ads.close(), admin?.close(), secure?.close(), caSync?.close(), revocationShare?.close()]);
    await ca?.close();
    registry.close();
    await stateFile?.flush();
    await shared?.close();
    if (ownsStore) await store.close();
    etcd?.close();
    configError.clear();
    ads.pushes.clear();
    ads.nacks.clear();
  };

  let xdsPort: number;
  let adminPort: number | undefined;
  try {
    // Restored entries pass today's policy too (the allowed networks may have changed).
    const keepMs = restoredKeepMs(warmupMs, graceMs);
    if (saved) registry.restore(saved.filter((a) => announcePolicy.check(a) === undefined), keepMs);
    warmUp.start();
    await store.start();
    await shared?.start();
    builder.start();
    xdsPort = await ads.listen(host, options.xdsPort ?? 15010);
    // Restored nodes can come back only from now on: their keep starts here.
    if (saved) registry.keepRestored(keepMs);
    if (stateFile) {
      // Only once the port is ours: a second server started on a taken port must not write
      // into the state of the one serving it.
      registry.onChange(() => stateFile.save(registry.list()));
      stateFile.save(registry.list());
    }
    if (admin) adminPort = await admin.listen(host, options.adminPort ?? 15014);
    if (options.caDir !== undefined) {
      // On etcd every server signs with the CA sealed there (store/etcd-ca.ts).
      caSync = etcd ? await etcd.syncCa(options.caDir, options) : undefined;
      // Loaded only with a CA: a server without one never imports the CA modules or jose.
      const [{ CertificateAuthority }, { SecureServer }] = await Promise.all([import('./ca/authority.js'), import('./ca/secure-server.js')]);
      ca = await CertificateAuthority.open({
        dir: options.caDir,
        ...(options.trustDomain !== undefined ? { trustDomain: options.trustDomain } : {}),
        ...(options.signerThreads !== undefined ? { signerThreads: options.signerThreads } : {}),
      });
      ads.trustDomain = ca.trustDomain;
      if (etcd) {
        // A CA change another server published reaches this one's directory, then its signer.
        const opened = ca;
        await caSync!.follow(async () => {
          const change = await opened.reload();
          log('CA reloaded from etcd: roots %s, signer %s', change.rootsChanged ? 'changed' : 'same', change.signerChanged ? 'changed' : 'same');
        });
        revocationShare = await etcd.shareRevocations(ca.revocations);
        etcd.shareTokenUses(ca.tokenUses);
      }
      secure = await SecureServer.start({ ca, ads, host, port: options.securePort ?? 15012, ...(options.secureServerNames ? { serverNames: options.secureServerNames } : {}) });
    }
  } catch (err) {
    await close();
    throw err;
  }

  // Report each config problem once, when it first appears.
  const fingerprint = (d: Diagnostic) => `${d.code}|${d.file ?? ''}|${d.line ?? ''}|${d.resource ?? ''}|${d.message}`;
  let seen = new Set(configErrors().map(fingerprint));
  builder.onBuild.on(() => {
    const now = configErrors().filter((d) => d.severity === 'error');
    const next = new Set(now.map(fingerprint));
    for (const d of now) if (!seen.has(fingerprint(d))) configError.fire(d);
    seen = next;
  });
  builder.onSnapshot(() => ads.push());
  log('control server up: xDS %s:%d, admin %s, secure %s', host, xdsPort, adminPort ?? 'disabled', secure?.port ?? 'disabled');

  return {
    host,
    xdsPort,
    adminPort,
    securePort: secure?.port,
    ca,
    store,
    registry,
    serviceRegistry: builder.serviceRegistry,
    snapshot: () => builder.snapshot,
    clients: () => ads.clients(),
    services: () => builder.services,
    configErrors,
    rebuild: () => builder.rebuild(),
    async reloadCa() {
      const opened = requireCa();
      // The revocation list first: a list that does not read stops the reload before the signer changes.
      const revocations = await opened.revocations.reload();
      const change = await opened.reload();
      // The directory loaded: now it is what every server on etcd signs with.
      const published = caSync ? await caSync.publish() : 0;
      return { ...change, revocations, published };
    },
    settled: (timeoutMs = 5000) => settled(() => builder.idle && ads.clients().every(answered), timeoutMs),
    on(event, fn) {
      if (event === 'push') return ads.pushes.on(fn as (e: PushEvent) => void);
      if (event === 'nack') return ads.nacks.on(fn as (e: NackEvent) => void);
      return configError.on(fn as (d: Diagnostic) => void);
    },
    close,
  };
}

/** `<tmp>/meshlet-state-<uid>/<hash of config dir (or "memory"), host, port>`; none for port 0 (no stable identity). */
function defaultStateDir(configDir: string | undefined, host: string, port: number): string | undefined {
  if (port === 0) return undefined;
  const key = createHash('sha256').update(`${configDir === undefined ? 'memory' : resolve(configDir)}|${host}|${port}`).digest('hex').slice(0, 16);
  return join(tmpdir(), `meshlet-state-${process.getuid?.() ?? 'user'}`, key);
}

/** A client has answered the latest response of each type it subscribes to. */
function answered(c: ClientStatus): boolean {
  for (const t of Object.values(c.types)) {
    // A type the client no longer subscribes to has nothing to answer (it may ignore pushes).
    if (t.subscribed !== '*' && t.subscribed.length === 0) continue;
    if (t.pending || (t.sentVersion !== undefined && t.ackedVersion !== t.sentVersion && !t.nack)) return false;
  }
  return true;
}

/** Polls `done` each few ms (it reads in-memory state only) until true twice in a row, or rejects at the deadline. */
function settled(done: () => boolean, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    let streak = 0;
    const check = (): void => {
      // Twice in a row: an ACK can make a client subscribe to more names in the same turn.
      streak = done() ? streak + 1 : 0;
      if (streak >= 2) return resolve();
      if (performance.now() > until) return reject(meshError('MESHLET_ERR_TIMEOUT', `the mesh did not settle within ${timeoutMs} ms`));
      setTimeout(check, 5);
    };
    check();
  });
}
