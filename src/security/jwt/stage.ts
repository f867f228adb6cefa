/**
 * RequestAuthentication as a stage of the inbound policy (security/inbound-policy.ts), in the
 * authn phase before authorization: Envoy's jwt_authn filter ahead of RBAC. It holds the
 * compiled filter of the workload's current inbound config (rebuilt only when that config
 * changes) and a JwksCache that outlives config pushes; jose and the filter are loaded with the
 * first config. The stage registers itself only
 * while a config exists, so a mesh without RequestAuthentication pays nothing per request.
 *
 * After a token verifies, `view.auth` carries `<iss>/<sub>` and the claims (what authorization's
 * requestPrincipals and request.auth.claims read), and the request is changed as Envoy changes
 * it: the token removed unless forwarded, claim and payload headers set (client-sent copies
 * always removed). The adapters' native requests are reached through their documented shapes
 * (`{ kind: 'http', ctx: { req } }`, `{ kind: 'grpc', ctx: { metadata } }`), not imported, so
 * this layer stays below http/ and grpc/.
 */
import type { HttpFilterModel, JwtAuthnModel } from '../../core/model/index.js';
import type { InboundVerdict } from '../../core/inbound.js';
import type { Disposable } from '../../internal/events.js';
import { INBOUND_PHASE, type InboundCall, type InboundStage } from '../inbound-policy.js';
import type { JwtAuthnFilter, JwtAuthnResult } from './filter.js';
import type { JwksCache } from './keys.js';

type Runtime = typeof import('./runtime.js');

/** envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication (xds/type-urls.ts TYPE_URL.jwtAuthn). */
export const JWT_AUTHN_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
let runtimeLoad: Promise<Runtime> | undefined;
/** jose and the filter load on the first config, not with the mesh. */
const loadRuntime = (): Promise<Runtime> => (runtimeLoad ??= import('./runtime.js'));

/** Where the stage is registered (the mesh's InboundPolicy). */
export interface StageHost {
  use(stage: InboundStage, phase: number): Disposable;
}

interface HttpReqLike { headers: Record<string, string | string[] | undefined>; rawHeaders: string[]; url?: string }
interface MetadataLike { remove(key: string): void; set(key: string, value: string): void }
type NativeLike = { kind: 'http'; ctx: { req: HttpReqLike } } | { kind: 'grpc'; ctx: { metadata: MetadataLike } } | undefined;

type Pass = Extract<JwtAuthnResult, { ok: true }>;

/** Applies a result to the request: the verdict to refuse with, or the changes of a pass. */
export function settle(call: InboundCall, r: JwtAuthnResult): InboundVerdict | undefined {
  if (!r.ok) return r.verdict;
  if (r.auth) call.view.auth = r.auth;
  const native = call.native as NativeLike;
  if (native?.kind === 'http') applyHttp(native.ctx.req, r);
  else if (native?.kind === 'grpc') applyGrpc(native.ctx.metadata, r);
  return undefined;
}

/** The jwt_authn config among an HTTP connection manager's filters, if any. */
export function jwtOf(filters: readonly HttpFilterModel[]): JwtAuthnModel | undefined {
  for (const f of filters) if (f.config.kind === 'extension' && f.config.typeUrl === JWT_AUTHN_TYPE_URL) return f.config.value as JwtAuthnModel;
  return undefined;
}

function applyHttp(req: HttpReqLike, r: Pass): void {
  const drop = new Set(r.removeHeaders);
  for (const [name] of r.setHeaders) drop.add(name);
  for (const name of drop) delete req.headers[name];
  // rawHeaders too: an app reading them must not see the token or a spoofed claim header.
  if (drop.size > 0) {
    const raw: string[] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      if (!drop.has((req.rawHeaders[i] as string).toLowerCase())) raw.push(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
    }
    req.rawHeaders.length = 0;
    req.rawHeaders.push(...raw);
  }
  for (const [name, value] of r.setHeaders) {
    const prev = req.headers[name];
    req.headers[name] = prev === undefined ? value : `${Array.isArray(prev) ? prev.join(', ') : prev}, ${value}`;
    req.rawHeaders.push(name, value);
  }
  if (r.removeQueryParams.length > 0 && req.url) {
    const q = req.url.indexOf('?');
    if (q >= 0) {
      const remove = new Set(r.removeQueryParams);
      const kept = req.url.slice(q + 1).split('&').filter((pair) => {
        const key = pair.slice(0, pair.indexOf('=') < 0 ? pair.length : pair.indexOf('='));
        try {
          return !remove.has(decodeURIComponent(key));
        } catch {
          return true;
        }
      });
      req.url = kept.length > 0 ? `${req.url.slice(0, q)}?${kept.join('&')}` : req.url.slice(0, q);
    }
  }
}

function applyGrpc(md: MetadataLike, r: Pass): void {
  for (const name of r.removeHeaders) md.remove(name);
  for (const [name] of r.setHeaders) md.remove(name);
  for (const [name, value] of r.setHeaders) md.set(name, value);
}

/**
 * The JWT step of one mesh.
 *
 * @example
 * ```ts
 * const jwt = new JwtAuthnStage(mesh.inbound.policy);
 * jwt.updatePorts([[9080, jwtOf(inbound9080.httpFilters)]]); // on every inbound listener update
 * ```
 */
export class JwtAuthnStage implements InboundStage {
  readonly name = 'jwt_authn';
  private runtime: Runtime | undefined;
  private loading: Promise<void> | undefined;
  private cache: JwksCache | undefined;
  /** The configs asked for last, applied once the runtime is loaded. */
  private wanted: Array<readonly [number | undefined, JwtAuthnModel]> = [];
  /** Compiled filters by service port; a port without its own uses `fallback`. */
  private byPort = new Map<number, JwtAuthnFilter>();
  private fallback: JwtAuthnFilter | undefined;
  /** Compiled filters by config text: ports with one config share one filter, pushes keep it. */
  private compiled = new Map<string, JwtAuthnFilter>();
  private registration: Disposable | undefined;

  constructor(private readonly host: StageHost, private readonly now: () => number = Date.now) {}

  /** The filter a request on `port` gets (undefined: none, or not compiled yet: see {@link ready}). */
  current(port?: number): JwtAuthnFilter | undefined {
    return (port === undefined ? undefined : this.byPort.get(port)) ?? this.fallback;
  }

  /** Resolves when the last update is compiled. */
  async ready(): Promise<void> {
    await this.loading;
  }

  /** Takes the jwt_authn entry of an inbound listener's http_filters, for every port. */
  updateFromFilters(filters: readonly HttpFilterModel[]): void {
    this.update(jwtOf(filters));
  }

  /** One config for every port (undefined: authentication off). */
  update(model: JwtAuthnModel | undefined): void {
    this.updatePorts(model === undefined ? [] : [[undefined, model]]);
  }

  /**
   * Per-port configs from the workload's inbound listeners; `[undefined, model]` is the config of
   * ports without their own. RequestAuthentication selects workloads, not ports, so a port whose
   * listener has not arrived yet falls back to the first config given. The stage is in the policy
   * from this call on: requests arriving while jose loads wait for it, none skips authentication.
   */
  updatePorts(entries: Iterable<readonly [number | undefined, JwtAuthnModel | undefined]>): void {
    this.wanted = [...entries].filter((e): e is readonly [number | undefined, JwtAuthnModel] => e[1] !== undefined);
    if (this.wanted.length > 0 && !this.registration) this.registration = this.host.use(this, INBOUND_PHASE.authn);
    if (this.runtime) return this.apply(this.runtime);
    if (this.wanted.length === 0) return this.apply(undefined);
    if (!this.loading) {
      this.loading = loadRuntime().then((rt) => {
        this.runtime = rt;
        this.apply(rt);
      });
      // Marked handled: a failed load must not be an unhandled rejection in the host process;
      // requests still see it (the policy refuses them, fail closed).
      this.loading.catch(() => undefined);
    }
  }

  private apply(rt: Runtime | undefined): void {
    const byPort = new Map<number, JwtAuthnFilter>();
    const compiled = new Map<string, JwtAuthnFilter>();
    let fallback: JwtAuthnFilter | undefined;
    if (rt) {
      this.cache ??= new rt.JwksCache();
      for (const [port, model] of this.wanted) {
        const key = JSON.stringify(model);
        const filter = compiled.get(key) ?? this.compiled.get(key) ?? new rt.JwtAuthnFilter(model, this.cache, this.now);
        compiled.set(key, filter);
        if (port !== undefined) byPort.set(port, filter);
        fallback ??= filter;
      }
      this.cache.retain([...compiled.values()].flatMap((f) => rt.providersOf(f.config).map((p) => p.jwks)));
    }
    this.byPort = byPort;
    this.compiled = compiled;
    this.fallback = fallback;
    if (!fallback && this.registration) {
      this.registration.dispose();
      this.registration = undefined;
    }
  }

  onRequest(call: InboundCall): Promise<InboundVerdict | void> | InboundVerdict | void {
    if (!this.runtime && this.loading) return this.loading.then(() => this.onRequest(call));
    const filter = this.byPort.get(call.view.localPort) ?? this.fallback;
    if (!filter) return undefined;
    const r = filter.authenticate(call.view);
    return r instanceof Promise ? r.then((x) => settle(call, x)) : settle(call, r);
  }
}
