// The Istio YAML behind the meshlet variants. Both hosts end at the bench origin through
// ServiceEntries; only the features host carries traffic policy.
export const PLAIN_HOST = 'echo-plain.default.svc.cluster.local';
export const FEATURES_HOST = 'echo-features.default.svc.cluster.local';

export function meshBenchConfig(originPort: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo-plain }
spec:
  hosts: [${PLAIN_HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints:
  - { address: 127.0.0.1, ports: { http: ${originPort} } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo-features }
spec:
  hosts: [${FEATURES_HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  # Two endpoints (the origin listens on both loopback addresses) so the balancer picks.
  endpoints:
  - { address: 127.0.0.1, ports: { http: ${originPort} } }
  - { address: 127.0.0.2, ports: { http: ${originPort} } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo-features }
spec:
  host: ${FEATURES_HOST}
  trafficPolicy:
    loadBalancer: { simple: LEAST_REQUEST }
    connectionPool:
      tcp: { maxConnections: 1024 }
      http: { http1MaxPendingRequests: 1024, http2MaxRequests: 1024, maxRetries: 16 }
    outlierDetection: { consecutive5xxErrors: 5, interval: 5s, baseEjectionTime: 30s, maxEjectionPercent: 50 }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo-features }
spec:
  hosts: [${FEATURES_HOST}]
  http:
  - timeout: 5s
    retries: { attempts: 2, perTryTimeout: 2s, retryOn: "5xx,connect-failure,reset" }
    route: [{ destination: { host: ${FEATURES_HOST} } }]
`;
}
