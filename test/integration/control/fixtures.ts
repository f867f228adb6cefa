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

/** Polls `check` every 20 ms until it holds (or throws after `timeoutMs`). */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 3000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function getJson<T = unknown>(base: string, path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(base + path, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export type { IstioResource };
