import { createControlServer } from '../../control/index.js';
import { meshError } from '../../errors.js';
import { formatDiagnostic } from '../../config/index.js';
import { parse, portOption } from '../args.js';
import type { Output } from '../output.js';

export const controlUsage = `meshlet control [--config DIR] [--xds-port 15010] [--admin-port 15014] [--host 127.0.0.1] [--store memory|file|etcd://host:2379[,host:2379…][/prefix] [--store-key-file FILE] [--lease-ttl 15]] [--ca-dir DIR [--secure-port 15012] [--trust-domain cluster.local]] [--state-dir DIR | --no-state] [--announce-networks CIDR,…] [--admin-token T]`;

/** `meshlet control`: runs the control server until SIGINT/SIGTERM. */
export async function controlCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parse(argv, {
    config: { type: 'string', short: 'c' },
    'xds-port': { type: 'string' },
    'admin-port': { type: 'string' },
    host: { type: 'string' },
    store: { type: 'string' },
    'ca-dir': { type: 'string' },
    'secure-port': { type: 'string' },
    'trust-domain': { type: 'string' },
    'state-dir': { type: 'string' },
    'no-state': { type: 'boolean' },
    'announce-networks': { type: 'string' },
    'admin-token': { type: 'string' },
    'store-key-file': { type: 'string' },
    'lease-ttl': { type: 'string' },
  });
  if ((values['secure-port'] || values['trust-domain']) && !values['ca-dir']) throw meshError('MESHLET_ERR_USAGE', '--secure-port and --trust-domain need --ca-dir');
  const store = values.store ?? (values.config ? 'file' : 'memory');
  if (values['state-dir'] && values['no-state']) throw meshError('MESHLET_ERR_USAGE', '--state-dir and --no-state exclude each other');
  const etcd = store.startsWith('etcd://') ? store as `etcd://${string}` : undefined;
  if (etcd && values.config) throw meshError('MESHLET_ERR_USAGE', '--store etcd://… keeps the config in etcd; load files into it with `meshlet apply -f DIR`, not --config');
  if ((values['store-key-file'] || values['lease-ttl']) && !etcd) throw meshError('MESHLET_ERR_USAGE', '--store-key-file and --lease-ttl need --store etcd://…');
  if (!etcd && store !== 'memory' && store !== 'file') throw meshError('MESHLET_ERR_USAGE', `--store must be memory or file, got "${store}"`);
  if (store === 'file' && !values.config) throw meshError('MESHLET_ERR_USAGE', '--store file needs --config DIR');
  const server = await createControlServer({
    xdsPort: portOption(values['xds-port'], 15010, '--xds-port'),
    adminPort: portOption(values['admin-port'], 15014, '--admin-port'),
    ...(values.host ? { host: values.host } : {}),
    ...(values.config ? { configDir: values.config } : {}),
    ...(etcd ? { store: etcd } : {}),
    ...(values['store-key-file'] ? { storeKeyFile: values['store-key-file'] } : {}),
    ...(values['lease-ttl'] ? { leaseTtlSeconds: leaseTtl(values['lease-ttl']) } : {}),
    ...(values['ca-dir'] ? { caDir: values['ca-dir'], securePort: portOption(values['secure-port'], 15012, '--secure-port') } : {}),
    ...(values['trust-domain'] ? { trustDomain: values['trust-domain'] } : {}),
    ...(values['state-dir'] ? { stateDir: values['state-dir'] } : values['no-state'] ? { stateDir: null } : {}),
    ...(values['announce-networks'] ? { announceNetworks: values['announce-networks'].split(',').map((c) => c.trim()).filter(Boolean) } : {}),
    ...(values['admin-token'] ? { adminToken: values['admin-token'] } : {}),
  });
  const errors = server.store.errors();
  out.info(`meshlet control: xDS (ADS) on ${server.host}:${server.xdsPort}, admin on http://${server.host}:${server.adminPort}` +
    (values.config ? `, watching ${values.config} (${server.store.list().length} resources)` : '') +
    (etcd ? `, config in ${etcd} (${server.store.list().length} resources)` : ''));
  if (server.ca) {
    out.info(`meshlet control: CA (${server.ca.mode}, trust domain ${server.ca.trustDomain}, root sha256 ${server.ca.rootFingerprint}) and xDS over TLS on ${server.host}:${server.securePort}`);
  }
  for (const d of errors) out.error(formatDiagnostic(d));
  server.on('config-error', (d) => out.error(formatDiagnostic(d)));
  // SIGHUP re-reads the CA directory (Istio's istiod watches its cacerts for the same steps of a
  // root rotation); with the etcd store the change then reaches every server.
  const onHup = (): void => {
    if (!server.ca) {
      out.info('meshlet control: SIGHUP: no CA to reload (start with --ca-dir)');
      return;
    }
    server.reloadCa().then(
      (c) => out.info(`meshlet control: SIGHUP: CA reloaded: roots ${c.rootsChanged ? 'changed' : 'unchanged'}, signer ${c.signerChanged ? 'changed' : 'unchanged'}` +
        ` (root sha256 ${server.ca!.rootFingerprint}), ${c.revocations} token revocation(s) in the directory` +
        (etcd ? `, ${c.published} file(s) published to etcd` : '')),
      (err: unknown) => out.error(`meshlet control: SIGHUP: CA not reloaded, still signing as before: ${(err as { code?: string }).code ? `${(err as { code: string }).code}: ` : ''}${(err as Error).message}`),
    );
  };
  process.on('SIGHUP', onHup);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.off('SIGHUP', onHup);
  await server.close();
  return 0;
}

/** `--lease-ttl`: whole seconds 2-3600 (how long a killed server's announcements outlive it). */
function leaseTtl(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 2 || n > 3600) throw meshError('MESHLET_ERR_USAGE', `--lease-ttl must be whole seconds 2-3600, got "${value}"`);
  return n;
}
