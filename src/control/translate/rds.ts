/**
 * RDS generator (Istio `pilot/pkg/networking/grpcgen/rds.go` conventions): one
 * RouteConfiguration per service port, named like its listener `<host>:<port>`, with a single
 * virtual host answering to every name the service may be dialed by. Routes come from the
 * VirtualService for the host (see context.ts for which one), or default to the port's own
 * cluster when there is none or it routes nothing on this port.
 */
import type { ServiceModel, ServicePortModel } from '../model.js';
import type { Proxy } from '../proxy.js';
import { destinationRuleFor, virtualServiceFor, type TranslateContext } from './context.js';
import type { GeneratedResource } from './types.js';
import { serviceAliases } from './aliases.js';
import { clusterName, listenerName } from './names.js';
import { hashPolicy, retryPolicy } from './route-policies.js';
import { RouteBuilder } from './routes.js';
import { effectivePolicy } from './traffic-policy.js';

/** Domains of the virtual host: hostname and aliases, each with and without the port. */
export function domainsFor(ctx: TranslateContext, service: ServiceModel, port: number): string[] {
  const names = [service.hostname, ...serviceAliases(ctx, service)];
  return [...new Set(names.flatMap((n) => [n, `${n}:${port}`]))];
}

/**
 * Istio's route for a host without VirtualService: everything to the port's cluster, no
 * timeout, default retries, and the DestinationRule's consistent-hash key if any.
 */
function defaultRoute(ctx: TranslateContext, service: ServiceModel, port: ServicePortModel): Record<string, unknown> {
  const route: Record<string, unknown> = { cluster: clusterName(port.number, '', service.hostname), timeout: { seconds: 0, nanos: 0 } };
  const hash = hashPolicy(effectivePolicy(destinationRuleFor(ctx, service.hostname), port.number).loadBalancer?.consistentHash);
  if (hash) route.hash_policy = hash;
  const retry = retryPolicy(undefined, hash !== undefined);
  if (retry) route.retry_policy = retry;
  return { name: 'default', match: { prefix: '/' }, route };
}

/** One RouteConfiguration, for `proxy` (or the snapshot every proxy shares). */
export function buildRouteConfiguration(ctx: TranslateContext, service: ServiceModel, port: ServicePortModel, proxy?: Proxy): Record<string, unknown> {
  const name = listenerName(service.hostname, port.number);
  const vs = virtualServiceFor(ctx, service.hostname);
  let routes = vs ? new RouteBuilder(ctx, vs, port, proxy).build() : [];
  if (routes.length === 0) routes = [defaultRoute(ctx, service, port)];
  return { name, virtual_hosts: [{ name, domains: domainsFor(ctx, service, port.number), routes }] };
}

/** The route configurations of one service, one per port, in port order. */
export function serviceRouteConfigurations(ctx: TranslateContext, s: ServiceModel, proxy?: Proxy): GeneratedResource[] {
  return s.ports.map((p) => ({ name: listenerName(s.hostname, p.number), message: buildRouteConfiguration(ctx, s, p, proxy) }));
}

/** Generates every route configuration, sorted by name. */
export function generateRouteConfigurations(ctx: TranslateContext): GeneratedResource[] {
  return ctx.services.flatMap((s) => serviceRouteConfigurations(ctx, s)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
