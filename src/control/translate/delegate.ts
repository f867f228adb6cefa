/**
 * VirtualService delegation (Istio `mergeVirtualServicesIfNeeded`): an HTTPRoute with
 * `delegate` is replaced by the HTTPRoutes of the named host-less VirtualService, each match
 * narrowed by the delegating route's match. A delegate match that contradicts the root's (a
 * URI outside the root prefix, the same header with another value) is dropped, as in Istio.
 * One level only: a delegate that delegates again is ignored.
 */
import type { Destination, HTTPMatchRequest, HTTPRoute, StringMatch, VirtualService } from '../../config/types.js';
import { delegateFor, type TranslateContext } from './context.js';
import { resolveHost } from './names.js';

const MAP_FIELDS = new Set(['headers', 'withoutHeaders', 'queryParams', 'sourceLabels']);
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** May a delegate narrow the root's URI match to its own? */
function uriCompatible(root: StringMatch, child: StringMatch): boolean {
  if (same(root, child)) return true;
  if (!('prefix' in root)) return false;
  if ('prefix' in child) return child.prefix.startsWith(root.prefix);
  if ('exact' in child) return child.exact.startsWith(root.prefix);
  return false;
}

/** Root ∧ delegate match, or `undefined` when they contradict each other. */
export function mergeMatch(root: HTTPMatchRequest, child: HTTPMatchRequest): HTTPMatchRequest | undefined {
  const out: Record<string, unknown> = { ...root };
  for (const [key, value] of Object.entries(child)) {
    if (value === undefined) continue;
    const prev = out[key];
    if (key === 'name') out.name = root.name ? `${root.name}.${String(value)}` : value;
    else if (key === 'ignoreUriCase') out.ignoreUriCase = root.ignoreUriCase === true || value === true;
    else if (key === 'uri') {
      if (root.uri && !uriCompatible(root.uri, value as StringMatch)) return undefined;
      out.uri = value;
    } else if (MAP_FIELDS.has(key)) {
      const merged: Record<string, unknown> = { ...((prev as Record<string, unknown>) ?? {}) };
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (k in merged && !same(merged[k], v)) return undefined;
        merged[k] = v;
      }
      out[key] = merged;
    } else {
      if (prev !== undefined && !same(prev, value)) return undefined;
      out[key] = value;
    }
  }
  return out as HTTPMatchRequest;
}

/** Cross product of root and delegate matches; `null` when nothing survives. */
function mergeMatches(root: HTTPMatchRequest[] | undefined, child: HTTPMatchRequest[] | undefined): HTTPMatchRequest[] | undefined | null {
  if (!root?.length) return child;
  if (!child?.length) return root;
  const out: HTTPMatchRequest[] = [];
  for (const r of root) for (const c of child) {
    const m = mergeMatch(r, c);
    if (m) out.push(m);
  }
  return out.length ? out : null;
}

/** Destination hosts made absolute in the delegate's namespace, so the root's namespace can't reinterpret them. */
function qualify(route: HTTPRoute, namespace: string, suffix: string): HTTPRoute {
  const fix = (d: Destination): Destination => ({ ...d, host: resolveHost(d.host, namespace, suffix) });
  const out: HTTPRoute = { ...route };
  if (route.route) out.route = route.route.map((r) => ({ ...r, destination: fix(r.destination) }));
  if (route.mirror) out.mirror = fix(route.mirror);
  if (route.mirrors) out.mirrors = route.mirrors.map((m) => ({ ...m, destination: fix(m.destination) }));
  return out;
}

/** The VirtualService's HTTPRoutes with every `delegate` expanded. */
export function expandDelegates(ctx: TranslateContext, vs: VirtualService): HTTPRoute[] {
  const out: HTTPRoute[] = [];
  for (const http of vs.spec.http ?? []) {
    if (!http.delegate) {
      out.push(http);
      continue;
    }
    const { name, namespace = vs.metadata.namespace } = http.delegate;
    const child = delegateFor(ctx, namespace, name);
    for (const c of child?.spec.http ?? []) {
      if (c.delegate) continue;
      const match = mergeMatches(http.match, c.match);
      if (match === null) continue;
      const merged = qualify(c, namespace, ctx.domainSuffix);
      if (match) merged.match = match;
      else delete merged.match;
      out.push(merged);
    }
  }
  return out;
}
