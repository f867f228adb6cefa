import { parseDurationNanos } from '../../control/translate/durations.js';
import { meshError } from '../../errors.js';
import { parse } from '../args.js';
import type { Output } from '../output.js';

export const tokenUsage = 'meshlet token create --ca-dir DIR --namespace NS --service-account SA [--ttl 24h] [--trust-domain cluster.local]';

/**
 * `meshlet token create`: prints one join token for NS/SA, signed by the token key in the CA
 * directory (which is created, like the control server would, when it does not exist yet).
 */
export async function tokenCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    'ca-dir': { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    'service-account': { type: 'string' },
    ttl: { type: 'string' },
    'trust-domain': { type: 'string' },
  });
  if (positionals[0] !== 'create' || positionals.length !== 1) throw meshError('MESHLET_ERR_USAGE', `usage: ${tokenUsage}`);
  for (const flag of ['ca-dir', 'namespace', 'service-account'] as const) {
    if (!values[flag]) throw meshError('MESHLET_ERR_USAGE', `--${flag} is required (${tokenUsage})`);
  }
  const ttlNanos = values.ttl === undefined ? undefined : parseDurationNanos(values.ttl);
  if (values.ttl !== undefined && ttlNanos === undefined) throw meshError('MESHLET_ERR_USAGE', `--ttl must be a duration like 24h or 90m, got "${values.ttl}"`);
  // The signing workers never start for a token: only the token key is used.
  const { CertificateAuthority } = await import('../../control/ca/authority.js');
  const ca = await CertificateAuthority.open({ dir: values['ca-dir']!, signerThreads: 0, ...(values['trust-domain'] ? { trustDomain: values['trust-domain'] } : {}) });
  try {
    out.info(await ca.createJoinToken({
      namespace: values.namespace!,
      serviceAccount: values['service-account']!,
      ...(ttlNanos !== undefined ? { ttlMs: Number(ttlNanos / 1_000_000n) } : {}),
    }));
  } finally {
    await ca.close();
  }
  return 0;
}
