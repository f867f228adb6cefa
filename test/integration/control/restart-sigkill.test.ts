// Issue 11, item 1, with a state directory (`--config DIR --state-dir DIR`: what `meshlet control
// --config DIR` on a fixed port does by default): 5 SIGKILLs under load — HTTP to announced
// services and to an applied ServiceEntry, gRPC to an announced service — 0 failed requests, and
// a file written into the config dir after the last restart reaches every client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRestartScenario, WEB_TO_API } from './restart-scenario.js';

test('5 SIGKILLs of meshlet control --config under load: 0 failed requests, a later file change reaches every client', { timeout: 110_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-sigkill-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const configDir = join(dir, 'config');
  await mkdir(configDir);
  const r = await runRestartScenario(t, {
    kills: 5,
    args: ['--config', configDir, '--state-dir', join(dir, 'state')],
    serviceEntry: true,
    grpc: true,
    change: () => writeFile(join(configDir, 'web.yaml'), WEB_TO_API),
    resync: 'acked',
  });
  const { sent, ok, failed, reasons, samples } = r.stats;
  assert.equal(failed, 0, `failed requests: ${JSON.stringify([...reasons])}\n${samples.join('\n')}`);
  assert.equal(ok, sent);
  assert.ok(sent >= 2000, `the load ran (${sent} requests)`);
  assert.equal(r.reached.length, 2);
});
