// Hand-built resources and small helpers shared by the control-server integration tests.
import type { IstioResource, ServiceEntry, VirtualService } from '../../../src/config/types.js';

export function serviceEntry(name: string, port = 9080, namespace = 'default'): ServiceEntry {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name, namespace },
    spec: {
      hosts: [`${name}.${namespace}.svc.cluster.local`],
      location: 'MESH_INTERNAL',
      resolution: 'STATIC',
      ports: [{ number: port, name: 'http', protocol: 'HTTP' }],
      endpoints: [{ address: '127.0.0.1', ports: { http: 18080 } }],
    },
  };
}

export function timeoutRoute(name: string, timeout: string, namespace = 'default'): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace },
    spec: { hosts: [name], http: [{ timeout, route: [{ destination: { host: name } }] }] },
  };
}

export const host = (name: string, namespace = 'default') => `${name}.${namespace}.svc.cluster.local`;

export { waitFor } from '../../helpers/wait.js';

export async function getJson<T = unknown>(base: string, path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(base + path, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export type { IstioResource };
