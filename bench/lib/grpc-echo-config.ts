// The Istio YAML behind the gRPC benchmarks: the echo origin as a mesh service.
export const ECHO_HOST = 'echo.default.svc.cluster.local';

export function echoServiceEntry(originPort: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo }
spec:
  hosts: [${ECHO_HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9090, name: grpc, protocol: GRPC }]
  endpoints: [{ address: 127.0.0.1, ports: { grpc: ${originPort} } }]
`;
}
