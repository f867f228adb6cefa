import { meshError } from '../../errors.js';
import { parse, portOption } from '../args.js';
import type { Output } from '../output.js';

export const gatewayUsage = 'meshlet gateway [--control-plane host:port] [--labels istio=ingressgateway] [--token T] [--port 80=8080 …] [--credentials DIR] [--host 0.0.0.0] [--namespace istio-system] [--metrics-port P]';

/** `--labels a=b,c=d` (repeatable) → a label map; keys and values as Kubernetes allows them. */
export function parseLabels(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of values.flatMap((v) => v.split(','))) {
    const eq = item.indexOf('=');
    const k = item.slice(0, eq).trim();
    const v = item.slice(eq + 1).trim();
    if (eq <= 0 || !/^[A-Za-z0-9]([A-Za-z0-9._/-]{0,252}[A-Za-z0-9])?$/.test(k) || !/^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/.test(v)) {
      throw meshError('MESHLET_ERR_USAGE', `--labels takes key=value pairs, got "${item}"`);
    }
    out[k] = v;
  }
  return out;
}

/** `--port 80=8080` (repeatable): Gateway server port → local port (0: a free one). */
export function parsePorts(values: readonly string[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const item of values.flatMap((v) => v.split(','))) {
    const [server, local, extra] = item.split('=');
    if (server === undefined || local === undefined || extra !== undefined) throw meshError('MESHLET_ERR_USAGE', `--port takes SERVER=LOCAL (like 80=8080), got "${item}"`);
    const s = portOption(server.trim(), 0, '--port');
    if (s === 0) throw meshError('MESHLET_ERR_USAGE', `--port: the server port must be 1-65535, got "${server}"`);
    out[s] = portOption(local.trim(), 0, '--port');
  }
  return out;
}

/**
 * `meshlet gateway`: an ingress gateway serving the Gateways whose selector matches its labels,
 * until SIGINT/SIGTERM, which stop accepting and drain requests in flight before exiting.
 */
export async function gatewayCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parse(argv, {
    'control-plane': { type: 'string' },
    labels: { type: 'string', multiple: true },
    token: { type: 'string' },
    port: { type: 'string', multiple: true },
    credentials: { type: 'string' },
    host: { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    'metrics-port': { type: 'string' },
    'drain-timeout': { type: 'string' },
  });
  const labels = values.labels ? parseLabels(values.labels) : { istio: 'ingressgateway' };
  const ports = parsePorts(values.port ?? []);
  const drain = values['drain-timeout'] === undefined ? 5000 : Number(values['drain-timeout']);
  if (!Number.isInteger(drain) || drain < 0 || drain > 600_000) throw meshError('MESHLET_ERR_USAGE', `--drain-timeout takes milliseconds 0-600000, got "${values['drain-timeout']}"`);
  const { createGateway } = await import('../../gateway/index.js');
  const gw = await createGateway({
    labels,
    ports,
    drainTimeoutMs: drain,
    ...(values['control-plane'] ? { controlPlane: values['control-plane'] } : {}),
    ...(values.token ? { token: values.token } : {}), // else MESHLET_TOKEN / MESHLET_TOKEN_FILE, as createMesh reads them
    ...(values.credentials ? { credentials: values.credentials } : {}),
    ...(values.host ? { host: values.host } : {}),
    ...(values.namespace ? { namespace: values.namespace } : {}),
    ...(values['metrics-port'] ? { metricsPort: portOption(values['metrics-port'], 0, '--metrics-port') } : {}),
  });
  const describe = (): string => Object.entries(gw.ports).map(([s, l]) => `${s}→${l}`).join(', ') || 'none yet';
  out.info(`meshlet gateway: labels ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',')}; ports ${describe()}${gw.mesh.metricsPort !== undefined ? `; metrics on :${gw.mesh.metricsPort}` : ''}`);
  for (const p of gw.problems) out.error(`meshlet gateway: ${p}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  out.info('meshlet gateway: draining');
  await gw.close();
  return 0;
}
