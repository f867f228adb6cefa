// `meshlet control --ca-dir` as a real process: SIGHUP re-reads the CA directory and says what
// changed (a root appended for a rotation reaches the next certificate's trust bundle), a
// directory that does not load is reported and the CA keeps signing as before, and a token
// revoked with `meshlet token revoke --ca-dir` while the server runs is refused at its next use,
// with no signal and no restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { main } from '../../../src/cli/main.js';
import { CertificateAuthority } from '../../../src/control/ca/authority.js';
import { CONTROL_SERVER_NAME } from '../../../src/control/ca/secure-server.js';
import { requestCertificate } from '../../../src/security/identity/ca-client.js';
import { splitCertificates } from '../../../src/security/identity/pem.js';
import { ControlProcess } from '../control/control-process.js';
import { csrFor, tempDir } from '../../helpers/ca.js';
import { waitFor } from '../../helpers/wait.js';

const ID = 'spiffe://cluster.local/ns/default/sa/reviews';

describe('meshlet control: SIGHUP reloads the CA directory', () => {
  let dir: string;
  let otherRoot: string;
  let firstRoot: string;
  let token: string;
  let cp: ControlProcess;
  let secure: string;
  const cleanup: Array<() => Promise<unknown>> = [];

  before(async () => {
    const a = await tempDir();
    const b = await tempDir();
    cleanup.push(a.remove, b.remove);
    dir = a.dir;
    const ca = await CertificateAuthority.open({ dir, signerThreads: 0 });
    token = await ca.createJoinToken({ namespace: 'default', serviceAccount: 'reviews' });
    await ca.close();
    await (await CertificateAuthority.open({ dir: b.dir, signerThreads: 0 })).close();
    firstRoot = await readFile(join(dir, 'root-cert.pem'), 'utf8');
    otherRoot = await readFile(join(b.dir, 'root-cert.pem'), 'utf8');
    cp = await ControlProcess.start(['--ca-dir', dir, '--secure-port', '0', '--xds-port', '0', '--admin-port', '0', '--no-state']);
    cleanup.push(() => cp.stop());
    const m = await waitFor(() => /xDS over TLS on ([^\s]+):(\d+)/.exec(cp.output), 10_000, 'the secure port line');
    secure = `${m[1]}:${m[2]}`;
  });
  after(async () => { for (const f of cleanup.reverse()) await f(); });

  const bundle = async (tk = token): Promise<string[]> => {
    const chain = await requestCertificate({ address: secure, serverName: CONTROL_SERVER_NAME, trustPem: firstRoot, csr: (await csrFor([ID])).csr, token: tk });
    return splitCertificates(chain[chain.length - 1]!);
  };
  const hup = async (): Promise<string> => {
    const seen = cp.output.match(/SIGHUP: .*/g)?.length ?? 0;
    process.kill(cp.pid, 'SIGHUP');
    const lines = await waitFor(() => { const all = cp.output.match(/SIGHUP: .*/g) ?? []; return all.length > seen && all; }, 15_000, 'the SIGHUP report');
    return lines[lines.length - 1]!;
  };

  test('an appended root reaches the next certificate; a broken directory is reported and changes nothing', async () => {
    assert.equal((await bundle()).length, 1);
    await writeFile(join(dir, 'root-cert.pem'), firstRoot + otherRoot, { mode: 0o600 });
    assert.match(await hup(), /CA reloaded: roots changed, signer unchanged .*0 token revocation/);
    assert.equal((await bundle()).length, 2);

    await writeFile(join(dir, 'root-cert.pem'), 'not a certificate\n', { mode: 0o600 });
    assert.match(await hup(), /CA not reloaded, still signing as before: MESHLET_ERR_CA_DIR/);
    assert.equal((await bundle()).length, 2, 'still the bundle of the last good load');
    await writeFile(join(dir, 'root-cert.pem'), firstRoot + otherRoot, { mode: 0o600 });
    assert.match(await hup(), /CA reloaded: roots unchanged, signer unchanged/);
  });

  test('a token revoked in the CA directory is refused by the running server without a signal', async () => {
    await bundle();
    const err: string[] = [];
    assert.equal(await main(['token', 'revoke', '--ca-dir', dir, token], { info: () => {}, error: (l) => err.push(l) }), 0, err.join('\n'));
    await assert.rejects(bundle(), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_TOKEN_REVOKED');
    assert.match(await hup(), /1 token revocation\(s\) in the directory/);
  });
});
