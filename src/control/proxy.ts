/**
 * Who is asking: the control server's view of one xDS client (Istio `model.Proxy`), read from
 * the ADS node, and the proxy group it falls in. Generation is per proxy (Istio's
 * `Generate(proxy, watched, req)`), but most proxies see the same config: the group key holds
 * only the proxy inputs that some config actually reads, so proxies that share a key get the
 * same snapshot and the bytes are still encoded once per group.
 */
import type { VirtualService } from '../config/types.js';
import { metadataJson, NODE_METADATA, parseLabels } from '../xds/node.js';
import { DEFAULT_NAMESPACE } from './model.js';

/** One xDS client. Plain data; built once per stream from its first node. */
export interface Proxy {
  /** xDS `Node.id`. */
  id: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  serviceAccount?: string;
  /** `gateway` for Istio's `router~…` node ids, else `sidecar` (proxyless clients included). */
  kind: 'sidecar' | 'gateway';
}

/**
 * Reads a proxy from an ADS node (protobufjs object form; metadata a Struct or plain JSON).
 * Missing fields fall back to Istio's defaults: namespace `default`, no labels, sidecar.
 *
 * @example
 * ```ts
 * const proxy = proxyFromNode(request.node); // { id: 'productpage-1', namespace: 'default', labels: { version: 'v1' }, kind: 'sidecar' }
 * ```
 */
export function proxyFromNode(node: Record<string, unknown> | null | undefined): Proxy {
  const id = typeof node?.['id'] === 'string' ? node['id'] : '';
  const meta = metadataJson(node?.['metadata']);
  const ns = meta[NODE_METADATA.namespace];
  const sa = meta[NODE_METADATA.serviceAccount];
  const proxy: Proxy = {
    id,
    namespace: typeof ns === 'string' && ns ? ns : DEFAULT_NAMESPACE,
    labels: parseLabels(meta[NODE_METADATA.labels]),
    // Istio's node id is `type~ip~id~domain`; `router` marks a gateway.
    kind: id.startsWith('router~') ? 'gateway' : 'sidecar',
  };
  if (typeof sa === 'string' && sa) proxy.serviceAccount = sa;
  return proxy;
}

/** The proxy inputs a config reads: which label keys, and whether the namespace matters. */
export interface GroupInputs {
  /** Sorted label keys named by any `sourceLabels` selector. */
  labelKeys: readonly string[];
  /** Some route matches on `sourceNamespace`. */
  namespace: boolean;
}

/**
 * What in a proxy can change the generated output under this config. Only the keys
 * selectors name count: a fleet whose labels differ in `pod-template-hash` alone is one group.
 */
export function groupInputs(virtualServices: readonly VirtualService[]): GroupInputs {
  const keys = new Set<string>();
  let namespace = false;
  for (const vs of virtualServices) {
    for (const route of vs.spec.http ?? []) {
      for (const m of route.match ?? []) {
        for (const k of Object.keys(m.sourceLabels ?? {})) keys.add(k);
        if (m.sourceNamespace !== undefined) namespace = true;
      }
    }
  }
  return { labelKeys: [...keys].sort(), namespace };
}

/**
 * The proxy group key: equal keys ⇒ equal generated output. A config without source-dependent
 * matches puts every sidecar in one group (`sidecar`), which keeps today's one-snapshot cost.
 *
 * @example
 * ```ts
 * proxyGroupKey(proxy, groupInputs(ctx.virtualServices)); // 'sidecar|ns=default|version=v1'
 * ```
 */
export function proxyGroupKey(proxy: Proxy, inputs: GroupInputs): string {
  let key = proxy.kind;
  if (inputs.namespace) key += `|ns=${proxy.namespace}`;
  // JSON keeps keys and values containing `|` or `=` unambiguous; absent and empty differ.
  for (const k of inputs.labelKeys) key += `|${JSON.stringify([k, proxy.labels[k] ?? null])}`;
  return key;
}

/** Istio's selector semantics: every selector label present with the same value (empty selects all). */
export function labelsMatch(labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>>): boolean {
  for (const k of Object.keys(selector)) if (labels[k] !== selector[k]) return false;
  return true;
}
