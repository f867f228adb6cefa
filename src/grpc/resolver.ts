/**
 * The `mesh:` resolver. `mesh:///reviews:9080` (any host form the engine knows: `reviews`,
 * `reviews.default`, the FQDN, ServiceEntry hosts) resolves through the mesh named by the
 * channel option `grpc.meshlet.mesh_id`: a service config selecting the `meshlet` LB policy,
 * and a ConfigSelector that routes every call through the engine. Endpoints are not listed up
 * front unless the engine can enumerate them (`endpointsFor`); the LB policy creates
 * subchannels for whatever endpoints the engine picks.
 */
import type { ChannelOptions, experimental, ServiceConfig } from '@grpc/grpc-js';
import { grpcLib, Status } from './lib.js';
import type { Engine, UpstreamEndpoint } from '../core/types.js';
import type { Disposable } from '../internal/events.js';
import { createConfigSelector } from './config-selector.js';
import { MESH_ID_OPTION, MESH_LB_POLICY, MESH_SCHEME, registry } from './registry.js';

/** Optional engine capability: every endpoint of every cluster a host's routes can reach. */
interface EndpointDirectory {
  endpointsFor(host: string, port: number): readonly UpstreamEndpoint[] | undefined;
}

function hasDirectory(engine: Engine): engine is Engine & EndpointDirectory {
  return typeof (engine as Partial<EndpointDirectory>).endpointsFor === 'function';
}

/** Service config every mesh channel gets: the meshlet LB policy, no grpc-js retries (the interceptor retries). */
export const MESH_SERVICE_CONFIG: ServiceConfig = { loadBalancingConfig: [{ [MESH_LB_POLICY]: {} }], methodConfig: [] };

/**
 * Splits `host:port` (IPv6 in brackets); port 80 when absent (the engine then takes the host's
 * only port, like an HTTP URL without one).
 */
export function parseMeshTarget(path: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:/]+))(?::(\d+))?$/.exec(path.replace(/^\/+/, ''));
  if (!m) return undefined;
  const port = m[3] === undefined ? 80 : Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2] ?? '').toLowerCase(), port };
}

class MeshResolver implements experimental.Resolver {
  private readonly target: { host: string; port: number } | undefined;
  private readonly meshId: string | undefined;
  private subscription: Disposable | undefined;
  private destroyed = false;

  constructor(private readonly uri: experimental.GrpcUri, private readonly listener: experimental.ResolverListener, options: ChannelOptions) {
    this.target = parseMeshTarget(uri.path);
    const id = options[MESH_ID_OPTION];
    this.meshId = typeof id === 'string' ? id : undefined;
  }

  updateResolution(): void {
    this.destroyed = false;
    process.nextTick(() => this.resolve());
  }

  destroy(): void {
    this.destroyed = true;
    this.subscription?.dispose();
    this.subscription = undefined;
  }

  static getDefaultAuthority(uri: experimental.GrpcUri): string {
    return uri.path.replace(/^\/+/, '');
  }

  private fail(details: string): void {
    this.listener(grpcLib().experimental.statusOrFromError({ code: Status.UNAVAILABLE, details }), {}, null, '');
  }

  private resolve(): void {
    if (this.destroyed) return;
    const target = this.target;
    if (!target) return this.fail(`meshlet: bad target ${grpcLib().experimental.uriToString(this.uri)} (want mesh:///host:port)`);
    const runtime = this.meshId === undefined ? undefined : registry().meshes.get(this.meshId);
    if (!runtime) {
      return this.fail(`meshlet: no open mesh for ${grpcLib().experimental.uriToString(this.uri)}; create the client with meshGrpc(mesh).channelOptions`);
    }
    const engine = runtime.engine;
    if (hasDirectory(engine) && !this.subscription) this.subscription = engine.onUpdate(() => this.resolve());
    const listed = hasDirectory(engine) ? engine.endpointsFor(target.host, target.port) ?? [] : [];
    const endpoints = listed.map((ep) => ({ addresses: [{ host: ep.address, port: ep.port }] }));
    this.listener(
      grpcLib().experimental.statusOrFromValue(endpoints),
      { [grpcLib().experimental.CHANNEL_ARGS_CONFIG_SELECTOR_KEY]: createConfigSelector(runtime, target.host, target.port) },
      grpcLib().experimental.statusOrFromValue(MESH_SERVICE_CONFIG),
      '',
    );
  }
}

/**
 * Registers the `mesh:` scheme with grpc-js (process-global; harmless to repeat).
 *
 * @example
 * ```ts
 * registerMeshResolver();
 * new EchoClient('mesh:///reviews:9080', credentials, { 'grpc.meshlet.mesh_id': id });
 * ```
 */
export function registerMeshResolver(): void {
  grpcLib().experimental.registerResolver(MESH_SCHEME, MeshResolver);
}
