/**
 * The routing decision for one request against a snapshot: listener by host, virtual host by
 * authority, first matching route, then the action (forward / redirect / direct) with every
 * per-request roll done here: weighted cluster, fault, mirrors, request hash.
 */
import type { ClusterEnv } from './cluster.js';
import type { CompiledListener, CompiledRoute, CompiledVirtualHost } from './compile.js';
import type { DomainIndex } from './virtual-hosts.js';
import { RoutedPlan } from './plan.js';
import { RequestView } from './request.js';
import { requestHash } from './request-hash.js';
import type { CompiledHttpFilter } from './filters/types.js';
import { rollFraction } from './fraction.js';
import { applyPrefixRewrite, applyRegexRewrite, redirectLocation } from './rewrite.js';
import type { IndexedListener, Snapshot } from './snapshot.js';
import type { RequestInfo, RouteResult } from './types.js';
import type { WeightedClusterModel } from './model/index.js';
import { searchCumulative } from './balancer/types.js';

const PASSTHROUGH: RouteResult = Object.freeze({ kind: 'passthrough' });
const NO_ROUTE: RouteResult = Object.freeze({ kind: 'no_route' });
const NO_MIRRORS: readonly string[] = Object.freeze([]);

/** The virtual host for `host:port`, then `host` (listeners with one virtual host skip this). */
function findVirtualHost(domains: DomainIndex<CompiledVirtualHost>, host: string, port: number): CompiledVirtualHost | undefined {
  return domains.find([`${host}:${port}`, host]);
}

/** Routes a request. Pure apart from the injected random source and cluster counters. */
export function routeRequest(snap: Snapshot, info: RequestInfo, env: ClusterEnv): RouteResult {
  let indexed: IndexedListener;
  if (info.listener === undefined) {
    const target = snap.hosts.resolve(info.host, info.port);
    if (!target) return PASSTHROUGH;
    indexed = target.listener;
  } else {
    // A gateway's listener: chosen by name, its virtual host by the request's host alone.
    const named = snap.listeners?.get(info.listener);
    if (!named) return NO_ROUTE;
    indexed = { listener: named.listener };
  }
  const { listener } = indexed;
  const rc = listener.routeConfig;
  if (!rc) return NO_ROUTE; // RDS not delivered yet: Envoy answers 404 NR as well
  const req = new RequestView(info);
  const vhost = indexed.vhost ?? findVirtualHost(rc.domains, info.host.toLowerCase(), info.port);
  if (!vhost) return NO_ROUTE;
  const random = env.random;
  let route: CompiledRoute | undefined;
  for (const r of vhost.routes) {
    if (r.match(req, random)) {
      route = r;
      break;
    }
  }
  if (!route) return NO_ROUTE;
  const action = route.model.action;
  switch (action.kind) {
    case 'redirect':
      return { kind: 'redirect', status: action.redirect.status, location: redirectLocation(action.redirect, route.model.match.path, req, route.redirectRegex) };
    case 'direct':
      return action.body === undefined
        ? { kind: 'direct', status: action.status, responseHeaders: route.responseHeaders }
        : { kind: 'direct', status: action.status, body: action.body, responseHeaders: route.responseHeaders };
    case 'non_forwarding':
      return NO_ROUTE;
    default:
      return forward(snap, route, listener, req, env);
  }
}

function forward(snap: Snapshot, route: CompiledRoute, listener: CompiledListener, req: RequestView, env: ClusterEnv): RouteResult {
  const a = route.action;
  let clusterName: string | undefined;
  let weighted: WeightedClusterModel | undefined;
  let requestHeaders = route.requestHeaders;
  let responseHeaders = route.responseHeaders;
  let hostRewrite = route.model.hostRewrite;
  if (a.kind === 'cluster') clusterName = a.cluster;
  else if (a.kind === 'weighted') {
    if (a.total <= 0) return NO_ROUTE;
    const i = searchCumulative(a.cum, env.random() * a.total);
    clusterName = a.clusters[i];
    if (route.model.action.kind === 'weighted') weighted = route.model.action.clusters[i as number];
    requestHeaders = a.requestHeaders[i] ?? requestHeaders;
    responseHeaders = a.responseHeaders[i] ?? responseHeaders;
    hostRewrite = a.hostRewrites[i] ?? hostRewrite;
  } else if (a.kind === 'cluster_header') clusterName = req.header(a.header);
  const cluster = clusterName === undefined ? undefined : snap.clusters.get(clusterName);
  if (!cluster) return NO_ROUTE;
  const m = route.model;
  const f = new RoutedPlan(cluster, m.name, route.timeoutMs, route.retry, requestHeaders, responseHeaders, hostRewrite, NO_MIRRORS);
  if (cluster.hashed && m.hashPolicy.length > 0) {
    const rh = requestHash(m.hashPolicy, req, env.random);
    f.hash = rh.hash;
    f.setCookie = rh.setCookie;
  }
  const chain = listener.forwardFilters;
  if (chain.length > 0) {
    const ctx = { req, random: env.random, route: m, weighted };
    for (let i = 0; i < chain.length; i++) (chain[i] as CompiledHttpFilter).onForward?.(ctx, f);
  }
  const msd = m.maxStreamDurationMs ?? listener.maxStreamDurationMs;
  if (msd !== undefined && msd > 0) f.maxStreamDurationMs = msd;
  // The upstream sees the normalized path (as behind Envoy with normalize_path), rewritten.
  let path = req.path;
  if (m.prefixRewrite !== undefined) path = applyPrefixRewrite(m.match.path, path, m.prefixRewrite);
  else if (route.regexRewrite) path = applyRegexRewrite(route.regexRewrite, path);
  if (path !== req.rawPath) f.rewritePath = path + req.query;
  if (m.mirrors.length > 0) {
    const out: string[] = [];
    for (const mirror of m.mirrors) if (rollFraction(mirror.fraction, env.random)) out.push(mirror.cluster);
    if (out.length > 0) f.mirrors = out;
  }
  return { kind: 'forward', plan: f };
}
