// CLI conventions: --version, per-command --help, and `meshlet status` failing (exit 1) while a
// control server reports config errors or a client's NACK, so scripts can gate on it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/main.js';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { RawAds } from '../../helpers/raw-ads.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { info: (l) => out.push(l), error: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('--version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const flag of ['--version', '-v', 'version']) {
    const r = await run([flag]);
    assert.equal(r.code, 0);
    assert.equal(r.out, version);
  }
});

test('every command answers --help with its usage and what it does, exit 0, touching nothing', async () => {
  for (const cmd of ['control', 'apply', 'analyze', 'get', 'status', 'demo', 'dashboard']) {
    // `control --help` would otherwise start a server; `apply --help` would need -f.
    const r = await run([cmd, '--help']);
    assert.equal(r.code, 0, `${cmd}: ${r.err}`);
    assert.match(r.out, new RegExp(`^usage: meshlet ${cmd} `), cmd);
    assert.ok(r.out.split('\n').length >= 3, `${cmd} has a description`);
    assert.equal((await run(['help', cmd])).out, r.out);
    assert.equal((await run([cmd, '-n', 'x', '-h'])).code, 0);
  }
  const top = await run(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.out, /meshlet --version/);
  assert.equal((await run([])).code, 2, 'no command is a usage error');
});

describe('meshlet status exit code', () => {
  let server: ControlServer;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshlet-status-'));
    await writeFile(join(dir, 'ok.yaml'), 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: reviews }\nspec: { host: reviews }\n');
    server = await createControlServer({ xdsPort: 0, adminPort: 0, configDir: dir });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('0 when clean, 1 on a NACK, 1 on a config error', async () => {
    const admin = ['--server', `127.0.0.1:${server.adminPort}`];
    assert.equal((await run(['status', ...admin])).code, 0);

    const ads = new RawAds(`127.0.0.1:${server.xdsPort}`, { id: 'nacker' });
    try {
      ads.send({ typeUrl: TYPE_URL.cluster });
      ads.nack(await ads.next(TYPE_URL.cluster), 'cluster rejected for the test');
      let r = await run(['status', ...admin]);
      for (let i = 0; i < 50 && r.code === 0; i++) {
        await new Promise((res) => setTimeout(res, 20));
        r = await run(['status', ...admin]);
      }
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /nacker CDS NACK: cluster rejected for the test/);
      assert.equal((await run(['status', '-o', 'json', ...admin])).code, 1);
    } finally {
      ads.close();
    }

    await writeFile(join(dir, 'bad.yaml'), 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: x }\nspec:\n  hosts: [x]\n  http:\n  - route: [{ destination: { host: x }, weight: 150 }]\n');
    let r = await run(['status', ...admin]);
    for (let i = 0; i < 150 && !/MESHLET_ERR_CONFIG_SCHEMA/.test(r.out); i++) {
      await new Promise((res) => setTimeout(res, 20));
      r = await run(['status', ...admin]);
    }
    assert.match(r.out, /bad\.yaml:7:\d+: error MESHLET_ERR_CONFIG_SCHEMA/);
    assert.equal(r.code, 1);
  });
});
