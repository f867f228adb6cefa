import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseDurationNanos } from '../../control/translate/durations.js';
import { meshError } from '../../errors.js';
import { adminRequest } from '../admin-client.js';
import { adminUrl, parse } from '../args.js';
import type { Output } from '../output.js';

export const tokenUsage = [
  'meshlet token create --ca-dir DIR --namespace NS --service-account SA [--ttl 24h] [--uses N] [--trust-domain cluster.local]',
  'meshlet token revoke (--ca-dir DIR | --server HOST:ADMINPORT) TOKEN|JTI',
].join('\n       ');

/**
 * `meshlet token create` prints one join token for NS/SA, signed by the token key in the CA
 * directory (which is created, like the control server would, when it does not exist yet);
 * `--uses N` bounds the certificates it may obtain (first joins; renewals do not count).
 * `meshlet token revoke` revokes one, in the CA directory (what a server on it reads at the next
 * token it checks) or through a running server's admin API (`POST /tokens/revoke`, the way to
 * reach every server of an etcd store).
 */
export async function tokenCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    'ca-dir': { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    'service-account': { type: 'string' },
    ttl: { type: 'string' },
    uses: { type: 'string' },
    'trust-domain': { type: 'string' },
    server: { type: 'string', short: 's' },
  });
  if (positionals[0] === 'revoke') return revoke(positionals.slice(1), values, out);
  if (positionals[0] !== 'create' || positionals.length !== 1) throw meshError('MESHLET_ERR_USAGE', `usage: ${tokenUsage}`);
  for (const flag of ['ca-dir', 'namespace', 'service-account'] as const) {
    if (!values[flag]) throw meshError('MESHLET_ERR_USAGE', `--${flag} is required (${tokenUsage})`);
  }
  if (values.server) throw meshError('MESHLET_ERR_USAGE', '--server is for `token revoke`; `token create` signs with the key in --ca-dir');
  const ttlNanos = values.ttl === undefined ? undefined : parseDurationNanos(values.ttl);
  if (values.ttl !== undefined && ttlNanos === undefined) throw meshError('MESHLET_ERR_USAGE', `--ttl must be a duration like 24h or 90m, got "${values.ttl}"`);
  const uses = values.uses === undefined ? undefined : Number(values.uses);
  if (uses !== undefined && !(/^\d+$/.test(values.uses!) && Number.isInteger(uses))) throw meshError('MESHLET_ERR_USAGE', `--uses must be a whole number of certificates, got "${values.uses}"`);
  // The signing workers never start for a token: only the token key is used.
  const { CertificateAuthority } = await import('../../control/ca/authority.js');
  const ca = await CertificateAuthority.open({ dir: values['ca-dir']!, signerThreads: 0, ...(values['trust-domain'] ? { trustDomain: values['trust-domain'] } : {}) });
  try {
    out.info(await ca.createJoinToken({
      namespace: values.namespace!,
      serviceAccount: values['service-account']!,
      ...(ttlNanos !== undefined ? { ttlMs: Number(ttlNanos / 1_000_000n) } : {}),
      ...(uses !== undefined ? { maxUses: uses } : {}),
    }));
  } finally {
    await ca.close();
  }
  return 0;
}

interface RevokeAnswer {
  revocation?: { jti: string; revokedAt: number; expiresAt: number; spiffeId?: string };
  added: boolean;
  expired?: true;
}

async function revoke(args: string[], values: { 'ca-dir'?: string | undefined; server?: string | undefined; namespace?: string | undefined; uses?: string | undefined }, out: Output): Promise<number> {
  if (args.length !== 1 || !args[0]) throw meshError('MESHLET_ERR_USAGE', `name one token or jti to revoke\nusage: ${tokenUsage}`);
  if (Boolean(values['ca-dir']) === Boolean(values.server)) throw meshError('MESHLET_ERR_USAGE', `token revoke needs --ca-dir DIR or --server HOST:ADMINPORT (one of them)\nusage: ${tokenUsage}`);
  if (values.namespace || values.uses) throw meshError('MESHLET_ERR_USAGE', '--namespace and --uses are for `token create`');
  const arg = args[0].trim();
  // A JWT has two dots; a jti (base64url) has none.
  const what = arg.includes('.') ? { token: arg } : { jti: arg };
  let answer: RevokeAnswer;
  if (values.server) {
    const res = await adminRequest<RevokeAnswer>(adminUrl(values.server), '/tokens/revoke', {
      method: 'POST',
      body: JSON.stringify(what),
      headers: { 'content-type': 'application/json' },
    });
    if (res.status !== 200) throw meshError('MESHLET_ERR_ADMIN_REQUEST', `the server refused the revocation (${res.status})`);
    answer = res.body;
  } else {
    const dir = values['ca-dir']!;
    // Revoking creates no CA: a directory without a token key issued no token.
    if (!existsSync(join(dir, 'token-key.pem'))) throw meshError('MESHLET_ERR_CA_DIR', `${dir} holds no CA (no token-key.pem): nothing it could have issued to revoke`);
    const { CertificateAuthority } = await import('../../control/ca/authority.js');
    const ca = await CertificateAuthority.open({ dir, signerThreads: 0 });
    try {
      answer = await ca.revokeToken(what);
    } finally {
      await ca.close();
    }
  }
  const r = answer.revocation;
  if (answer.expired || !r) out.info('the token has already expired: the CA refuses it anyway; nothing to revoke');
  else if (!answer.added) out.info(`jti ${r.jti} was already revoked at ${new Date(r.revokedAt).toISOString()}`);
  else out.info(`revoked jti ${r.jti}${r.spiffeId ? ` (${r.spiffeId})` : ''}: no new joins with it, no renewals of certificates issued on its authority; listed until ${new Date(r.expiresAt).toISOString()}`);
  return 0;
}
