/**
 * Prometheus HTTP service discovery (`http_sd_configs`) for the whole mesh: the admin port's
 * `GET /prometheus/targets` lists every connected mesh's metrics endpoint as Prometheus's
 * http_sd format wants it — a JSON list of `{ targets: ["host:port"], labels: {…} }` groups
 * (prometheus.io docs, "http_sd_config"). Labels are what Istio's Kubernetes scrape config puts
 * on a sidecar's series (namespace, app/service, version) plus the meta label
 * `__metrics_path__`, so a scrape config needs no `metrics_path`.
 */
import type { ClientStatus } from './ads-stream.js';

/** One http_sd target group. */
export interface HttpSdGroup {
  targets: string[];
  labels: Record<string, string>;
}

/**
 * The http_sd groups of these clients: one group per announced metrics endpoint, sorted by
 * target so the answer is stable between polls.
 *
 * @example
 * ```ts
 * prometheusTargets(ads.clients());
 * // [{ targets: ['10.0.0.5:15020'], labels: { __metrics_path__: '/stats/prometheus', namespace: 'default', service: 'productpage', version: 'v1', app: 'productpage', node_id: 'productpage-1' } }]
 * ```
 */
export function prometheusTargets(clients: readonly ClientStatus[]): HttpSdGroup[] {
  const groups: HttpSdGroup[] = [];
  for (const c of clients) {
    const m = c.metrics;
    if (!m) continue;
    const host = m.address.includes(':') ? `[${m.address}]` : m.address;
    const labels: Record<string, string> = { __metrics_path__: '/stats/prometheus' };
    labels['namespace'] = m.namespace;
    if (m.service) labels['service'] = m.service;
    const app = m.labels['app'] ?? m.labels['app.kubernetes.io/name'];
    const version = m.labels['version'] ?? m.labels['app.kubernetes.io/version'];
    if (app) labels['app'] = app;
    if (version) labels['version'] = version;
    if (c.id) labels['node_id'] = c.id;
    groups.push({ targets: [`${host}:${m.port}`], labels });
  }
  return groups.sort((a, b) => (a.targets[0]! < b.targets[0]! ? -1 : a.targets[0]! > b.targets[0]! ? 1 : 0));
}
