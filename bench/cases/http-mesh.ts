// The meshlet variants: our control server in its own process (on the server CPU, idle during
// the measurement) with the bench's Istio YAML; the mesh clients live in the load-generator
// processes, as they would in a service.
import { startControlProcess, type ControlProcess } from '../lib/control-process.js';
import type { VariantSpec } from '../lib/dataplane.js';
import { track, untrack } from '../lib/cleanup.js';
import { pinPid, SERVER_CPU } from '../lib/pin.js';
import { FEATURES_HOST, meshBenchConfig, PLAIN_HOST } from './http-mesh-config.js';

export interface MeshVariants {
  variants: VariantSpec[];
  close(): Promise<void>;
}

export async function startMeshVariants(originPort: number, log: (line: string) => void): Promise<MeshVariants | { reason: string }> {
  let control: ControlProcess | undefined;
  try {
    control = await startControlProcess();
    track(control.pid);
    pinPid(control.pid, SERVER_CPU);
    await control.admin('/apply', { method: 'POST', body: meshBenchConfig(originPort) });
  } catch (err) {
    await control?.stop();
    return { reason: `control server for the mesh cases failed: ${(err as Error).message}` };
  }
  log(`control server (pid ${control.pid}) serving the mesh bench config`);
  const controlPlane = `127.0.0.1:${control.xdsPort}`;
  const c = control;
  return {
    variants: [
      { id: 'mesh-pass', label: 'meshlet pass-through (mesh.dispatcher, no features)', target: { kind: 'mesh', controlPlane, origin: `http://${PLAIN_HOST}` } },
      { id: 'mesh-features', label: 'meshlet LB + retry + breaker + deadline + outlier', target: { kind: 'mesh', controlPlane, origin: `http://${FEATURES_HOST}` } },
    ],
    close: async () => { await c.stop(); untrack(c.pid); },
  };
}
