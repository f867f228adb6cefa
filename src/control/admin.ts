import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../config/index.js';
import { resourceKey, type Diagnostic } from '../config/types.js';
import { isMeshError, type MeshErrorCode } from '../errors.js';
import { trace } from '../internal/debug.js';
import { TYPE_URL } from '../xds/type-urls.js';
import { AdminGuard, AdminRefusal, applyLabel, DEFAULT_ADMIN_LIMITS, type AdminLimits } from './admin-guard.js';
import type { ClientStatus, TypeConfigView } from './ads-stream.js';
import { configDump, matchClients } from './admin/config-dump.js';
import { DASHBOARD } from './admin/dashboard-page.js';
import { MAX_REVOKE_BODY, parseRevokeBody, type AdminTokens } from './admin/tokens.js';
import { hostPort, listenError, probePort } from './listen.js';
import { prometheusTargets } from './prometheus-sd.js';
import type { ServiceModel } from './model.js';
import type { Snapshot } from './snapshot.js';
import type { ConfigStore } from './store/types.js';

const log = trace('admin');

const SHORT_TYPES: Record<string, string> = { LDS: TYPE_URL.listener, RDS: TYPE_URL.route, CDS: TYPE_URL.cluster, EDS: TYPE_URL.endpoint };

/** What the admin API reads from the control server. */
export interface AdminContext {
  store: ConfigStore;
  snapshot(): Snapshot;
  clients(): ClientStatus[];
  /** Responses and bytes the ADS server wrote since start, both protocols (benchmarks read it). */
  xdsTraffic?(): { responses: number; bytes: number };
  services(): ServiceModel[];
  /** Store errors plus analysis of the merged config. */
  configErrors(): Diagnostic[];
  /** Access rules (token, Host/Origin, write media types). Default: loopback rules, no token. */
  guard?: AdminGuard;
  /** Body size and concurrency; each defaults as in DEFAULT_ADMIN_LIMITS. */
  limits?: Partial<AdminLimits>;
  /** The live service graph (`GET /graph`); absent: 404. */
  graph?(): unknown;
  /** Join token revocation (`POST /tokens/revoke`, `GET /tokens/revoked`); absent (no CA): 404. */
  tokens?: AdminTokens;
  /** Per client: status and what was sent / ACKed per type (`GET /config_dump`); absent: 404. */
  configViews?(): Array<{ status: ClientStatus; types: TypeConfigView[] }>;
}

/** Clients one config dump answers at most (each can be large). */
const MAX_DUMPS = 16;

class HttpError extends Error {
  constructor(readonly status: number, readonly code: MeshErrorCode, message: string) {
    super(message);
  }
}

/**
 * The admin HTTP API (Istio's 15014), JSON in and out:
 *
 * | route | answer |
 * |---|---|
 * | `GET /healthz` | `ok` |
 * | `GET /status` | `{ version, clients, configErrors }` |
 * | `GET /config[?kind=K&name=N&namespace=NS]` | `IstioResource[]` |
 * | `GET /errors` | `Diagnostic[]` |
 * | `POST /apply` (YAML body, optional `x-meshlet-file`) | 200 `{ applied, warnings }`, 400 `{ diagnostics }` (nothing applied) |
 * | `DELETE /config/<Kind>/<namespace>/<name>` | `{ deleted }`, 404 when absent |
 * | `GET /registry` | `ServiceModel[]` (config and announced endpoints) |
 * | `GET /debug/xds?type=LDS[&name=N]` | decoded resources `{ typeUrl, version, resources }` |
 * | `GET /prometheus/targets` | every mesh's metrics endpoint in Prometheus `http_sd` format |
 * | `GET /` | the dashboard (HTML; strict CSP) |
 * | `GET /graph` | the service graph: nodes, edges with rps, error rate, p50/p99 (see control/graph) |
 * | `GET /config_dump?client=<node id or service>[&resources=0]` | CSDS-like `{ config: ClientConfigDump[] }`; 404 when no client matches |
 * | `POST /tokens/revoke` (`{"token": T}` or `{"jti": J}`) | `{ revocation, added }` (`{ expired: true }` for a token past its expiry); 400 bad body or a token of another CA; 404 without a CA |
 * | `GET /tokens/revoked` | the revocations in force |
 *
 * Failures answer `{ error: { code, message } }`.
 *
 * @example
 * ```ts
 * const admin = new AdminServer(ctx);
 * const port = await admin.listen('127.0.0.1', 15014);
 * ```
 */
export class AdminServer {
  private readonly server: Server;
  private readonly guard: AdminGuard;
  private readonly limits: AdminLimits;
  private inFlight = 0;
  private writesInFlight = 0;

  constructor(private readonly ctx: AdminContext) {
    this.guard = ctx.guard ?? new AdminGuard({ host: '127.0.0.1' });
    this.limits = { ...DEFAULT_ADMIN_LIMITS, ...(ctx.limits ?? {}) };
    this.server = createServer((req, res) => this.serve(req, res));
    // Idle keep-alive sockets must not hold close() up.
    this.server.keepAliveTimeout = 1000;
  }

  /** Binds; resolves the bound port. Throws MESHLET_ERR_PORT_IN_USE / MESHLET_ERR_LISTEN. */
  async listen(host: string, port: number): Promise<number> {
    await probePort('admin', host, port);
    return new Promise<number>((resolve, reject) => {
      const onError = (err: Error) => reject(listenError('admin', host, port, err));
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => log('admin server error: %o', err));
        const bound = (this.server.address() as AddressInfo).port;
        log('admin API on http://%s', hostPort(host, bound));
        resolve(bound);
      });
    });
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Admission (concurrency, then the guard) around every route. */
  private serve(req: IncomingMessage, res: ServerResponse): void {
    const write = req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH';
    if (this.inFlight >= this.limits.maxConcurrentRequests || (write && this.writesInFlight >= this.limits.maxConcurrentWrites)) {
      const which = write ? `${this.limits.maxConcurrentWrites} writes` : `${this.limits.maxConcurrentRequests} requests`;
      this.fail(res, new AdminRefusal(503, 'MESHLET_ERR_ADMIN_LIMIT', `the admin API is serving ${which} at once; retry`, { 'retry-after': '1' }));
      req.resume();
      return;
    }
    this.inFlight++;
    if (write) this.writesInFlight++;
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      this.inFlight--;
      if (write) this.writesInFlight--;
    };
    res.once('close', release);
    this.route(req, res).catch((err) => {
      // A refused body is not read: close the connection once answered instead of draining it.
      if (err instanceof AdminRefusal && err.status === 413) res.once('finish', () => req.destroy());
      this.fail(res, err);
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    this.guard.check(req, path);
    const q = (k: string) => url.searchParams.get(k) ?? undefined;
    if (method === 'GET' && path === '/healthz') return this.text(res, 200, 'ok');
    if (method === 'GET' && path === '/') return this.page(res);
    if (method === 'GET' && path === '/graph' && this.ctx.graph) return this.json(res, 200, this.ctx.graph());
    if (method === 'GET' && path === '/config_dump' && this.ctx.configViews) return this.configDump(res, q('client'), q('resources') !== '0');
    if (method === 'GET' && path === '/status') {
      return this.json(res, 200, { version: this.ctx.snapshot().version, clients: this.ctx.clients(), configErrors: this.ctx.configErrors() });
    }
    if (method === 'GET' && path === '/errors') return this.json(res, 200, this.ctx.configErrors());
    if (method === 'GET' && path === '/registry') return this.json(res, 200, this.ctx.services());
    if (method === 'GET' && path === '/prometheus/targets') return this.json(res, 200, prometheusTargets(this.ctx.clients()));
    if (method === 'GET' && path === '/config') {
      const kind = q('kind')?.toLowerCase();
      const name = q('name');
      const ns = q('namespace');
      const list = this.ctx.store.list().filter((r) =>
        (kind === undefined || r.kind.toLowerCase() === kind) && (name === undefined || r.metadata.name === name) && (ns === undefined || r.metadata.namespace === ns));
      return this.json(res, 200, list);
    }
    if (method === 'DELETE' && path.startsWith('/config/')) {
      const parts = path.slice('/config/'.length).split('/').map(decodeURIComponent);
      const [kind, ns, name] = parts;
      if (parts.length !== 3 || !kind || !ns || !name) throw new HttpError(400, 'MESHLET_ERR_ADMIN_REQUEST', 'expected DELETE /config/<Kind>/<namespace>/<name>');
      const deleted = await this.ctx.store.delete(kind, ns, name);
      if (!deleted) throw new HttpError(404, 'MESHLET_ERR_ADMIN_REQUEST', `${kind}/${ns}/${name} not found`);
      return this.json(res, 200, { deleted: `${kind}/${ns}/${name}` });
    }
    if (method === 'POST' && path === '/apply') return this.apply(req, res);
    if (path === '/tokens/revoke' || path === '/tokens/revoked') {
      if (!this.ctx.tokens) throw new HttpError(404, 'MESHLET_ERR_ADMIN_REQUEST', 'this control server has no CA (start it with --ca-dir)');
      if (method === 'GET' && path === '/tokens/revoked') return this.json(res, 200, this.ctx.tokens.revoked());
      if (method === 'POST' && path === '/tokens/revoke') {
        const what = parseRevokeBody(await readBody(req, Math.min(this.limits.maxBodyBytes, MAX_REVOKE_BODY)));
        return this.json(res, 200, await this.ctx.tokens.revoke(what));
      }
    }
    if (method === 'GET' && path === '/debug/xds') {
      const type = q('type') ?? 'LDS';
      const typeUrl = SHORT_TYPES[type.toUpperCase()] ?? type;
      const snapshot = this.ctx.snapshot();
      if (!snapshot.typeUrls().includes(typeUrl)) throw new HttpError(400, 'MESHLET_ERR_ADMIN_REQUEST', `unknown xDS type "${type}" (LDS, RDS, CDS, EDS or a type URL)`);
      const name = q('name');
      return this.json(res, 200, { typeUrl, version: snapshot.typeVersion(typeUrl), resources: snapshot.decode(typeUrl, name === undefined ? undefined : [name]) });
    }
    if (method === 'GET' && path === '/debug/process') {
      // Lets benchmarks read the server's memory and CPU time without sharing its process.
      if (url.searchParams.get('gc') === '1') (globalThis as { gc?: () => void }).gc?.();
      return this.json(res, 200, { pid: process.pid, memory: process.memoryUsage(), cpu: process.cpuUsage(), uptimeSeconds: process.uptime(), clients: this.ctx.clients().length, ...(this.ctx.xdsTraffic ? { xds: this.ctx.xdsTraffic() } : {}) });
    }
    throw new HttpError(404, 'MESHLET_ERR_ADMIN_REQUEST', `no admin route ${method} ${path}`);
  }

  private page(res: ServerResponse): void {
    res.writeHead(200, { ...DASHBOARD.headers, 'content-length': Buffer.byteLength(DASHBOARD.html) });
    res.end(DASHBOARD.html);
  }

  /** CSDS answers every client a node matcher selects; here the matcher is a node id or a service name. */
  private configDump(res: ServerResponse, client: string | undefined, resources: boolean): void {
    if (!client) throw new HttpError(400, 'MESHLET_ERR_ADMIN_REQUEST', 'GET /config_dump needs ?client=<node id or service>');
    const views = this.ctx.configViews!();
    const matched = matchClients(views, client);
    if (matched.length === 0) {
      const known = views.map((v) => v.status.id).filter(Boolean).slice(0, 20).join(', ') || 'none connected';
      throw new HttpError(404, 'MESHLET_ERR_ADMIN_REQUEST', `no connected client "${client.slice(0, 200)}" (clients: ${known})`);
    }
    const config = matched.slice(0, MAX_DUMPS).map((v) => configDump(v, { includeContent: resources }));
    this.json(res, 200, { config, ...(matched.length > MAX_DUMPS ? { truncated: matched.length - MAX_DUMPS } : {}) });
  }

  private async apply(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const file = applyLabel(req.headers['x-meshlet-file']);
    const text = await readBody(req, this.limits.maxBodyBytes);
    const { resources, diagnostics } = parseConfig(text, file);
    if (diagnostics.some((d) => d.severity === 'error')) return this.json(res, 400, { diagnostics });
    await this.ctx.store.apply(resources, file);
    this.json(res, 200, { applied: resources.map(resourceKey), warnings: diagnostics });
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (err instanceof HttpError) return this.json(res, err.status, { error: { code: err.code, message: err.message } });
    if (err instanceof AdminRefusal) return this.json(res, err.status, { error: { code: err.code, message: err.message } }, err.headers);
    if (isMeshError(err, 'MESHLET_ERR_STORE')) return this.json(res, 409, { error: { code: err.code, message: err.message } });
    if (isMeshError(err, 'MESHLET_ERR_USAGE') || isMeshError(err, 'MESHLET_ERR_CA_TOKEN')) return this.json(res, 400, { error: { code: err.code, message: err.message } });
    log('admin request failed: %o', err);
    const code = isMeshError(err) ? err.code : 'MESHLET_ERR_ADMIN_REQUEST';
    this.json(res, 500, { error: { code, message: (err as Error)?.message ?? String(err) } });
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent) return void res.end();
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private text(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const tooLarge = () => new AdminRefusal(413, 'MESHLET_ERR_ADMIN_LIMIT', `request body over ${max} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > max) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
