// `meshlet token create` and `meshlet control --ca-dir`: one line out, a token the CA accepts,
// coded usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { main } from '../../../src/cli/main.js';
import { CertificateAuthority } from '../../../src/control/ca/authority.js';
import { decodeJoinToken } from '../../../src/security/identity/join-token.js';
import { tempDir } from '../../helpers/ca.js';

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { info: (l) => out.push(l), error: (l) => err.push(l) });
  return { code, out, err: err.join('\n') };
}

test('token create prints one token line that the CA in the same directory accepts', async (t) => {
  const { dir, remove } = await tempDir();
  t.after(remove);
  const caDir = join(dir, 'ca');
  const r = await run(['token', 'create', '--ca-dir', caDir, '--namespace', 'default', '--service-account', 'reviews', '--ttl', '2h']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.length, 1);
  assert.match(r.out[0]!, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const claims = decodeJoinToken(r.out[0]!);
  assert.ok(Math.abs(claims.expiresAt - claims.issuedAt - 2 * 3600_000) < 1000);
  const ca = await CertificateAuthority.open({ dir: caDir, signerThreads: 0 });
  t.after(() => ca.close());
  assert.equal((await ca.tokens.verify(r.out[0]!)).spiffeId, 'spiffe://cluster.local/ns/default/sa/reviews');
  assert.equal(claims.rootFingerprint, ca.rootFingerprint);
});

test('token create: missing flags, bad names, bad ttl and a wrong trust domain are one coded line', async (t) => {
  const { dir, remove } = await tempDir();
  t.after(remove);
  const cases: Array<[string[], RegExp, number]> = [
    [['token', 'create', '--namespace', 'default', '--service-account', 'x'], /MESHLET_ERR_USAGE: --ca-dir is required/, 2],
    [['token', 'create', '--ca-dir', dir, '--namespace', 'Default', '--service-account', 'x'], /MESHLET_ERR_USAGE: namespace "Default"/, 2],
    [['token', 'create', '--ca-dir', dir, '--namespace', 'default', '--service-account', 'x', '--ttl', 'soon'], /MESHLET_ERR_USAGE: --ttl must be a duration/, 2],
    [['token', 'list'], /MESHLET_ERR_USAGE: usage: meshlet token create/, 2],
  ];
  for (const [argv, err, code] of cases) {
    const r = await run(argv);
    assert.equal(r.code, code, argv.join(' '));
    assert.match(r.err, err);
    assert.doesNotMatch(r.err, /\n\s+at /);
  }
  await run(['token', 'create', '--ca-dir', dir, '--namespace', 'default', '--service-account', 'x']);
  const r = await run(['token', 'create', '--ca-dir', dir, '--namespace', 'default', '--service-account', 'x', '--trust-domain', 'example.org']);
  assert.equal(r.code, 1);
  assert.match(r.err, /MESHLET_ERR_CA_DIR: the CA in .* is for trust domain "cluster.local", not "example.org"/);
});

test('control: --secure-port without --ca-dir is a usage error', async () => {
  const r = await run(['control', '--secure-port', '0']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--secure-port and --trust-domain need --ca-dir/);
});

test('token create --uses N puts the bound in the token; a bad count is a usage error', async (t) => {
  const { dir, remove } = await tempDir();
  t.after(remove);
  const r = await run(['token', 'create', '--ca-dir', dir, '--namespace', 'default', '--service-account', 'reviews', '--uses', '1']);
  assert.equal(r.code, 0, r.err);
  assert.equal(decodeJoinToken(r.out[0]!).maxUses, 1);
  assert.equal(decodeJoinToken((await run(['token', 'create', '--ca-dir', dir, '--namespace', 'default', '--service-account', 'reviews'])).out[0]!).maxUses, undefined);
  for (const uses of ['0', '1.5', 'many', '10001']) {
    const bad = await run(['token', 'create', '--ca-dir', dir, '--namespace', 'default', '--service-account', 'reviews', '--uses', uses]);
    assert.equal(bad.code, 2, uses);
    assert.match(bad.err, /MESHLET_ERR_USAGE: (--uses must be a whole number|maxUses must be an integer from 1 to 10000)/, uses);
  }
});

test('token revoke --ca-dir: by token or jti, once, and the CA in that directory refuses it', async (t) => {
  const { dir, remove } = await tempDir();
  t.after(remove);
  const create = async () => (await run(['token', 'create', '--ca-dir', dir, '--namespace', 'default', '--service-account', 'reviews'])).out[0]!;
  const [byToken, byJti] = [await create(), await create()];
  const r1 = await run(['token', 'revoke', '--ca-dir', dir, byToken]);
  assert.equal(r1.code, 0, r1.err);
  assert.match(r1.out[0]!, new RegExp(`^revoked jti ${decodeJoinToken(byToken).jti} \\(spiffe://cluster.local/ns/default/sa/reviews\\)`));
  const r2 = await run(['token', 'revoke', '--ca-dir', dir, decodeJoinToken(byJti).jti]);
  assert.equal(r2.code, 0, r2.err);
  assert.match((await run(['token', 'revoke', '--ca-dir', dir, byToken])).out[0]!, /was already revoked at/);
  const ca = await CertificateAuthority.open({ dir, signerThreads: 0 });
  t.after(() => ca.close());
  for (const tk of [byToken, byJti]) assert.ok(await ca.revocations.check(decodeJoinToken(tk).jti));

  // A token of another CA is not this CA's to revoke; a directory without a CA has issued nothing.
  const other = await tempDir();
  t.after(other.remove);
  const foreign = (await run(['token', 'create', '--ca-dir', other.dir, '--namespace', 'default', '--service-account', 'x'])).out[0]!;
  const cases: Array<[string[], RegExp, number]> = [
    [['token', 'revoke', '--ca-dir', dir, foreign], /MESHLET_ERR_CA_TOKEN: join token rejected: signature does not verify/, 1],
    [['token', 'revoke', '--ca-dir', join(dir, 'nothing-here'), 'abc'], /MESHLET_ERR_CA_DIR: .* holds no CA/, 1],
    [['token', 'revoke', '--ca-dir', dir], /MESHLET_ERR_USAGE: name one token or jti/, 2],
    [['token', 'revoke', byToken], /MESHLET_ERR_USAGE: token revoke needs --ca-dir DIR or --server/, 2],
    [['token', 'revoke', '--ca-dir', dir, 'not a jti'], /MESHLET_ERR_USAGE: a token id \(jti\)/, 2],
  ];
  for (const [argv, err, code] of cases) {
    const r = await run(argv);
    assert.equal(r.code, code, argv.join(' '));
    assert.match(r.err, err, argv.join(' '));
  }
});
