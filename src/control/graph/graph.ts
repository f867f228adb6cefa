/**
 * The service graph as the dashboard and `GET /graph` show it: nodes (service versions, plus
 * service nodes for requests that reached no workload) and edges with requests per second, error
 * rate and p50/p99 latency over the window, from the window's summed increases.
 */
import type { ClientStatus } from '../ads-stream.js';
import { histogramQuantile, nodeId, type NodeRef } from './compute.js';
import type { EdgeTraffic } from './window.js';

/** A node of {@link ServiceGraph}. */
export interface GraphNode extends NodeRef {
  id: string;
  /** Connected clients (node ids) of this service version. */
  workloads: string[];
  /** SPIFFE IDs those clients proved with a certificate. */
  identities: string[];
}

/** An edge of {@link ServiceGraph}; figures over `windowSeconds`. */
export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  protocol: string;
  /** Requests in the window. */
  requests: number;
  errors: number;
  rps: number;
  /** errors / requests, 0–1 (0 without requests). */
  errorRate: number;
  /** Latency quantiles (ms) from the duration buckets; null without observations. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** response code (`grpc:N` for gRPC) → requests. */
  codes: Record<string, number>;
}

/** What `GET /graph` answers. */
export interface ServiceGraph {
  generatedAt: string;
  windowSeconds: number;
  /** Which reports the figures come from (Kiali's choice; see compute.ts edgeOf). */
  reporter: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Builds the graph from the window's traffic and the connected clients (every client's service
 * version is a node even when idle, so a new workload shows before its first request).
 *
 * @example
 * ```ts
 * const { edges, seconds } = window.sum(Date.now());
 * buildGraph(edges, seconds, ads.clients());
 * ```
 */
export function buildGraph(traffic: ReadonlyMap<string, EdgeTraffic>, seconds: number, clients: readonly ClientStatus[], now = new Date()): ServiceGraph {
  const nodes = new Map<string, GraphNode>();
  const node = (ref: NodeRef): GraphNode => {
    const id = nodeId(ref);
    let n = nodes.get(id);
    if (!n) nodes.set(id, (n = { id, namespace: ref.namespace, service: ref.service, version: ref.version, workloads: [], identities: [] }));
    return n;
  };
  for (const c of clients) {
    // Only clients with metrics: their labels name the node as their own reports do.
    const service = c.metrics?.service ?? c.announced?.service;
    if (!service || !c.metrics) continue;
    const labels = c.metrics?.labels ?? {};
    // The canonical service/revision the client's own metrics carry (telemetry/metrics-labels.ts).
    const version = labels['version'] ?? labels['app.kubernetes.io/version'];
    const app = labels['app'] ?? labels['app.kubernetes.io/name'];
    const n = node({
      namespace: c.announced?.namespace ?? c.metrics?.namespace ?? 'default',
      service: labels['service.istio.io/canonical-name'] ?? app ?? (version ? `${service}-${version}` : service),
      version: labels['service.istio.io/canonical-revision'] ?? version ?? 'latest',
    });
    if (c.id) n.workloads.push(c.id);
    if (c.identity && !n.identities.includes(c.identity.spiffeId)) n.identities.push(c.identity.spiffeId);
  }
  const edges: GraphEdge[] = [];
  // Kiali's rule (graph/telemetry/istio/istio.go): a caller that reports names itself to the
  // server (metadata exchange, telemetry/peer-metadata.ts), so the server's report of it is
  // dropped by edgeOf; a server's reports of callers it cannot name are callers outside the mesh.
  for (const [id, t] of traffic) {
    if (t.requests <= 0) continue;
    const source = node(t.ref.source).id;
    const target = node(t.ref.dest).id;
    const buckets = [...t.buckets].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
    const p50 = histogramQuantile(0.5, buckets);
    const p99 = histogramQuantile(0.99, buckets);
    edges.push({
      id, source, target, protocol: t.ref.protocol,
      requests: round(t.requests, 0), errors: round(t.errors, 0),
      rps: seconds > 0 ? round(t.requests / seconds) : 0,
      errorRate: round(t.errors / t.requests, 4),
      p50Ms: p50 === undefined ? null : round(p50, 2),
      p99Ms: p99 === undefined ? null : round(p99, 2),
      codes: Object.fromEntries([...t.codes].filter(([, n]) => n > 0).sort()),
    });
  }
  edges.sort((a, b) => (a.id < b.id ? -1 : 1));
  return {
    generatedAt: now.toISOString(),
    windowSeconds: round(seconds, 1),
    reporter: 'source (destination for callers outside the mesh)',
    nodes: [...nodes.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
    edges,
  };
}

