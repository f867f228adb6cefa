/**
 * Cross-resource checks, like `istioctl analyze`: destinations and subsets that nothing defines,
 * subsets that select no endpoint, duplicate names, weight sums, and hosts claimed twice.
 * Works on resources from any source; positions come from {@link fieldSource} when the
 * resource was loaded from YAML.
 */
import type { MeshErrorCode } from '../errors.js';
import { hostMatches, isWildcardHost, resolveHost } from './hosts.js';
import { fieldSource } from './sources.js';
import {
  resourceKey, type DestinationRule, type Destination, type Diagnostic, type IstioResource, type ServiceEntry, type VirtualService,
} from './types.js';

/** What analyze knows about the running mesh: services with their endpoints' labels. */
export interface AnalyzeContext {
  services: ReadonlyArray<{ hostname: string; endpoints: ReadonlyArray<{ labels: Record<string, string> }> }>;
  /** Cluster DNS suffix used to resolve short hosts. Default `cluster.local`. */
  domainSuffix?: string;
}

type Emit = (r: IstioResource, path: string, severity: Diagnostic['severity'], code: MeshErrorCode, message: string) => void;

const where = (r: IstioResource): string => {
  const s = r.source;
  return s ? ` (${s.file}:${s.line})` : '';
};
const nsName = (r: IstioResource): string => `${r.metadata.namespace}/${r.metadata.name}`;
const byNsName = (a: IstioResource, b: IstioResource): number => (nsName(a) < nsName(b) ? -1 : nsName(a) > nsName(b) ? 1 : 0);

/**
 * Runs the cross-resource checks and returns their diagnostics (errors and warnings).
 *
 * Errors: a destination host nobody serves (UNKNOWN_HOST), a subset no DestinationRule defines
 * (UNKNOWN_SUBSET), a kind/namespace/name defined twice (DUPLICATE), negative or all-zero weights
 * (WEIGHTS). Warnings: a VirtualService host nobody serves, a subset selecting no endpoint
 * (EMPTY_SUBSET), weights not summing to 100 (they are normalized proportionally), and two
 * mesh VirtualServices or two same-namespace DestinationRules for one host (CONFLICT: the first by
 * `namespace/name` order wins).
 *
 * @example
 * ```ts
 * const diags = analyze(resources, {
 *   services: [{ hostname: 'reviews.default.svc.cluster.local', endpoints: [{ labels: { version: 'v1' } }] }],
 * });
 * ```
 */
export function analyze(resources: readonly IstioResource[], context: AnalyzeContext): Diagnostic[] {
  const suffix = context.domainSuffix ?? 'cluster.local';
  const out: Diagnostic[] = [];
  const emit: Emit = (r, path, severity, code, message) => {
    const d: Diagnostic = { severity, code, message, path, resource: resourceKey(r) };
    const src = fieldSource(r, path);
    if (src) {
      d.file = src.file;
      d.line = src.line;
      if (src.column !== undefined) d.column = src.column;
    }
    out.push(d);
  };

  // Duplicates: later definitions are reported and take no further part.
  const first = new Map<string, IstioResource>();
  const unique: IstioResource[] = [];
  for (const r of resources) {
    const prev = first.get(resourceKey(r));
    if (prev) emit(r, 'metadata.name', 'error', 'MESHLET_ERR_CONFIG_DUPLICATE', `${r.kind} ${nsName(r)} is defined twice; first definition${where(prev)} is used`);
    else {
      first.set(resourceKey(r), r);
      unique.push(r);
    }
  }

  const vss = unique.filter((r): r is VirtualService => r.kind === 'VirtualService');
  const drs = unique.filter((r): r is DestinationRule => r.kind === 'DestinationRule');
  const ses = unique.filter((r): r is ServiceEntry => r.kind === 'ServiceEntry');

  const served = new Set(context.services.map((s) => s.hostname));
  for (const se of ses) for (const h of se.spec.hosts) served.add(h);
  const wildcards = [...served].filter(isWildcardHost);
  const isServed = (host: string): boolean => {
    if (served.has(host) || wildcards.some((w) => hostMatches(w, host))) return true;
    // A wildcard (VS host) is served when it covers at least one known host.
    return isWildcardHost(host) && [...served].some((s) => hostMatches(host, s));
  };
  const drHost = (dr: DestinationRule): string => resolveHost(dr.spec.host, dr.metadata.namespace, suffix);
  const subsetsFor = (host: string): Set<string> => {
    const names = new Set<string>();
    for (const dr of drs) if (hostMatches(drHost(dr), host)) for (const s of dr.spec.subsets ?? []) names.add(s.name);
    return names;
  };

  for (const vs of vss) checkVirtualService(vs, { suffix, isServed, subsetsFor, emit });
  for (const dr of drs) checkSubsets(dr, drHost(dr), context, ses, isServed, emit);
  checkConflicts(vss, drs, suffix, emit);

  out.sort((a, b) => ((a.file ?? '') < (b.file ?? '') ? -1 : (a.file ?? '') > (b.file ?? '') ? 1 : (a.line ?? 0) - (b.line ?? 0)));
  return out;
}

interface VsEnv {
  suffix: string;
  isServed: (host: string) => boolean;
  subsetsFor: (host: string) => Set<string>;
  emit: Emit;
}

function checkVirtualService(vs: VirtualService, env: VsEnv): void {
  const { spec } = vs;
  const ns = vs.metadata.namespace;
  const gateways = spec.gateways ?? [];
  const gatewayOnly = gateways.length > 0 && !gateways.includes('mesh');
  if (!gatewayOnly) {
    (spec.hosts ?? []).forEach((h, i) => {
      if (h === '*') return;
      const host = resolveHost(h, ns, env.suffix);
      if (!env.isServed(host)) {
        env.emit(vs, `spec.hosts[${i}]`, 'warning', 'MESHLET_ERR_CONFIG_UNKNOWN_HOST', `host ${host} is not served by any known service or ServiceEntry`);
      }
    });
  }
  const checkDest = (d: Destination, path: string): void => {
    const host = resolveHost(d.host, ns, env.suffix);
    if (!env.isServed(host)) {
      env.emit(vs, `${path}.host`, 'error', 'MESHLET_ERR_CONFIG_UNKNOWN_HOST', `destination host ${host} is not served by any known service or ServiceEntry`);
    }
    if (d.subset !== undefined && !env.subsetsFor(host).has(d.subset)) {
      env.emit(vs, `${path}.subset`, 'error', 'MESHLET_ERR_CONFIG_UNKNOWN_SUBSET', `subset ${JSON.stringify(d.subset)} is not defined by any DestinationRule for ${host}`);
    }
  };
  const checkRoutes = (route: ReadonlyArray<{ destination: Destination; weight?: number }> | undefined, path: string): void => {
    (route ?? []).forEach((r, j) => checkDest(r.destination, `${path}[${j}].destination`));
    checkWeights(vs, route, path, env.emit);
  };
  (spec.http ?? []).forEach((h, i) => {
    const p = `spec.http[${i}]`;
    checkRoutes(h.route, `${p}.route`);
    if (h.mirror) checkDest(h.mirror, `${p}.mirror`);
    (h.mirrors ?? []).forEach((m, k) => checkDest(m.destination, `${p}.mirrors[${k}].destination`));
  });
  (spec.tcp ?? []).forEach((t, i) => checkRoutes(t.route, `spec.tcp[${i}].route`));
  (spec.tls ?? []).forEach((t, i) => checkRoutes(t.route, `spec.tls[${i}].route`));
}

function checkWeights(vs: VirtualService, route: ReadonlyArray<{ weight?: number }> | undefined, path: string, emit: Emit): void {
  if (!route) return;
  let negative = false;
  route.forEach((r, j) => {
    if ((r.weight ?? 0) < 0) {
      negative = true;
      emit(vs, `${path}[${j}].weight`, 'error', 'MESHLET_ERR_CONFIG_WEIGHTS', `weight must not be negative, got ${r.weight}`);
    }
  });
  if (negative || route.length < 2) return;
  const total = route.reduce((sum, r) => sum + (r.weight ?? 0), 0);
  if (total === 0) {
    emit(vs, path, 'error', 'MESHLET_ERR_CONFIG_WEIGHTS', `all ${route.length} destinations have weight 0; no traffic could be routed`);
  } else if (total !== 100) {
    emit(vs, path, 'warning', 'MESHLET_ERR_CONFIG_WEIGHTS', `weights sum to ${total}, not 100; they are normalized proportionally`);
  }
}

function checkSubsets(
  dr: DestinationRule,
  host: string,
  context: AnalyzeContext,
  ses: readonly ServiceEntry[],
  isServed: (host: string) => boolean,
  emit: Emit,
): void {
  if (isWildcardHost(host)) return;
  const service = context.services.find((s) => s.hostname === host);
  let endpoints: ReadonlyArray<{ labels?: Record<string, string> }> | undefined = service?.endpoints;
  if (!endpoints) {
    const se = ses.find((s) => s.spec.hosts.includes(host) && s.spec.endpoints);
    endpoints = se?.spec.endpoints;
  }
  if (!endpoints) {
    if (!isServed(host)) emit(dr, 'spec.host', 'warning', 'MESHLET_ERR_CONFIG_UNKNOWN_HOST', `host ${host} is not served by any known service or ServiceEntry`);
    return;
  }
  (dr.spec.subsets ?? []).forEach((s, i) => {
    const want = Object.entries(s.labels ?? {});
    const selected = endpoints.some((e) => want.every(([k, v]) => e.labels?.[k] === v));
    if (!selected) {
      const sel = want.map(([k, v]) => `${k}=${v}`).join(',') || '(all)';
      emit(dr, `spec.subsets[${i}]`, 'warning', 'MESHLET_ERR_CONFIG_EMPTY_SUBSET', `subset ${JSON.stringify(s.name)} (${sel}) selects no endpoint of ${host}`);
    }
  });
}

function checkConflicts(vss: readonly VirtualService[], drs: readonly DestinationRule[], suffix: string, emit: Emit): void {
  // Mesh (sidecar) VirtualServices are not merged: one host, one VirtualService.
  const claims = new Map<string, Array<{ r: IstioResource; path: string }>>();
  const claim = (key: string, r: IstioResource, path: string): void => {
    const list = claims.get(key) ?? [];
    if (!list.some((c) => c.r === r)) list.push({ r, path });
    claims.set(key, list);
  };
  for (const vs of vss) {
    const gateways = vs.spec.gateways ?? [];
    if (gateways.length > 0 && !gateways.includes('mesh')) continue;
    (vs.spec.hosts ?? []).forEach((h, i) => claim(`VirtualService host ${resolveHost(h, vs.metadata.namespace, suffix)}`, vs, `spec.hosts[${i}]`));
  }
  for (const dr of drs) {
    claim(`DestinationRule host ${resolveHost(dr.spec.host, dr.metadata.namespace, suffix)} in namespace ${dr.metadata.namespace}`, dr, 'spec.host');
  }
  for (const [what, list] of claims) {
    if (list.length < 2) continue;
    const sorted = [...list].sort((a, b) => byNsName(a.r, b.r));
    const winner = sorted[0]!.r;
    for (const { r, path } of sorted.slice(1)) {
      emit(r, path, 'warning', 'MESHLET_ERR_CONFIG_CONFLICT', `${what} is also configured by ${winner.kind} ${nsName(winner)}${where(winner)}; ${nsName(winner)} wins (first by namespace/name), ${nsName(r)} is ignored for it`);
    }
  }
}
