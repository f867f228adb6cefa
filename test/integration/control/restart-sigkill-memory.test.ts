// Issue 11, item 1, on the memory store (`meshlet control` without --config): memory with a
// snapshot in the state dir. 5 SIGKILLs and a clean restart (SIGTERM) under load, 0 failed requests — announced services and a
// ServiceEntry applied through the admin API both survive — and a change applied through the
// admin API after the last restart reaches every client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminApply, runRestartScenario, WEB_TO_API } from './restart-scenario.js';

test('5 SIGKILLs and a SIGTERM of meshlet control (memory store + state dir) under load: 0 failed requests, a later applied change reaches every client', { timeout: 110_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-sigkill-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await runRestartScenario(t, {
    kills: 5,
    terms: 1,
    args: ['--store', 'memory', '--state-dir', dir],
    serviceEntry: true,
    change: (control) => adminApply(control, WEB_TO_API, 'web.yaml'),
    resync: 'acked',
  });
  const { sent, ok, failed, reasons, samples } = r.stats;
  assert.equal(failed, 0, `failed requests: ${JSON.stringify([...reasons])}\n${samples.join('\n')}`);
  assert.equal(ok, sent);
  assert.ok(sent >= 2000, `the load ran (${sent} requests)`);
  assert.equal(r.reached.length, 2);
});
