// Istio YAML the control-plane benchmarks apply: a reviews service, its subsets, and a weighted route.
import { HOST } from './xds-client-worker.js';

/** ServiceEntry with three endpoints; `weight` is the first endpoint's (an endpoint change). */
export function serviceEntry(weight: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews }
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: grpc, protocol: GRPC }]
  endpoints:
  - { address: 10.0.0.1, labels: { version: v1 }, weight: ${weight} }
  - { address: 10.0.0.2, labels: { version: v2 } }
  - { address: 10.0.0.3, labels: { version: v3 } }
`;
}

/** DestinationRule with v1, v2 and `extraSubsets` more subsets (each a new cluster). */
export function destinationRule(extraSubsets: number): string {
  const extra = Array.from({ length: extraSubsets }, (_, i) => `  - { name: x${i}, labels: { version: v1 } }\n`).join('');
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
${extra}`;
}

/** VirtualService splitting v1/v2 (a route-weight change). */
export function virtualService(v1Weight: number): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route:
    - { destination: { host: reviews, subset: v1 }, weight: ${v1Weight} }
    - { destination: { host: reviews, subset: v2 }, weight: ${100 - v1Weight} }
`;
}
