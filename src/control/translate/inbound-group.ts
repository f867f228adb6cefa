/**
 * The inbound side of proxy grouping: what in a proxy its inbound listeners depend on
 * (namespace, the label keys security selectors name, the names it asks for), the listeners
 * themselves, and a fingerprint of the security resources so a policy-only change is pushed.
 */
import type { IstioResource } from '../../config/types.js';
import type { Proxy } from '../proxy.js';
import { inboundListener } from './inbound.js';
import { securityLabelKeys } from './peer-authn.js';
import { telemetryLabelKeys } from './telemetry.js';
import type { GeneratedResource } from './types.js';

/**
 * The inbound group key of a proxy for the names it asks for.
 *
 * @example
 * ```ts
 * inboundGroupKey(proxy, inboundGroupKey.labelKeys(resources), ['xds.istio.io/grpc/lds/inbound/0.0.0.0:9080']);
 * ```
 */
export function inboundGroupKey(proxy: Proxy, labelKeys: readonly string[], names: readonly string[]): string {
  let key = `in|${JSON.stringify(proxy.namespace)}`;
  for (const k of labelKeys) key += `|${JSON.stringify([k, proxy.labels[k] ?? null])}`;
  return `${key}|${JSON.stringify(names)}`;
}
inboundGroupKey.labelKeys = (resources: readonly IstioResource[]): string[] => [...new Set([...securityLabelKeys(resources), ...telemetryLabelKeys(resources)])].sort();

/** The inbound listeners for the names a proxy asks for (names that are not inbound ones are skipped). */
export function inboundListeners(names: readonly string[], resources: readonly IstioResource[], proxy: Proxy): GeneratedResource[] {
  const workload = { namespace: proxy.namespace, labels: proxy.labels };
  const out: GeneratedResource[] = [];
  for (const name of names) {
    const l = inboundListener(name, resources, workload);
    if (l) out.push(l);
  }
  return out;
}

/** Changes whenever a PeerAuthentication, AuthorizationPolicy or RequestAuthentication does. */
export function securityFingerprint(resources: readonly IstioResource[]): string {
  let text = '';
  for (const r of resources) {
    // Telemetry too: it sets the inbound listeners' tracing and access_log.
    if (r.kind === 'PeerAuthentication' || r.kind === 'AuthorizationPolicy' || r.kind === 'RequestAuthentication' || r.kind === 'Telemetry') {
      text += `${r.kind}\0${r.metadata.namespace}\0${r.metadata.name}\0${JSON.stringify(r.spec)}\n`;
    }
  }
  return text;
}
