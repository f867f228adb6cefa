// What a load generator sends through: raw undici to an address (the baseline, and the nginx
// hops), or meshlet's dispatcher to a mesh host name.
import type { Dispatcher } from 'undici';
import { meshLib } from './mesh-lib.js';

export type VariantTarget =
  | { kind: 'undici'; origin: string }
  | { kind: 'mesh'; controlPlane: string; origin: string };

export interface VariantDispatcher {
  dispatcher: Dispatcher;
  origin: string;
  close(): Promise<void>;
}

export async function createVariantDispatcher(target: VariantTarget, agent: () => Dispatcher): Promise<VariantDispatcher> {
  if (target.kind === 'undici') {
    const d = agent();
    return { dispatcher: d, origin: target.origin, close: () => d.close() };
  }
  // strict: a host the mesh does not know is an error, never a silent pass-through to DNS.
  const { createMesh } = await meshLib();
  const mesh = await createMesh({ controlPlane: target.controlPlane, service: 'bench-client', strict: true, initialFetchTimeoutMs: 15_000 });
  const { hostname, port } = new URL(target.origin);
  if (!mesh.engine.knowsHost(hostname, Number(port) || 80)) {
    await mesh.close();
    throw new Error(`the mesh did not learn ${target.origin} from the control server`);
  }
  return { dispatcher: mesh.dispatcher, origin: target.origin, close: () => mesh.close() };
}
