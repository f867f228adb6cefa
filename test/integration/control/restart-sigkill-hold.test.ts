// Issue 11, item 1, without any state (`meshlet control --no-state`): the restarted server
// knows nothing, so it holds its responses to returning clients for the warm-up (10 s) while
// the services re-announce, and the clients keep serving their cached config. Two SIGKILLs
// under load (each resync waits out a whole warm-up), 0 failed requests, and a change applied
// after the last restart reaches every client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminApply, runRestartScenario, WEB_TO_API } from './restart-scenario.js';

test('SIGKILLs of meshlet control --no-state under load: the warm-up hold loses no request; a later change reaches every client', { timeout: 110_000 }, async (t) => {
  const r = await runRestartScenario(t, {
    kills: 2,
    args: ['--store', 'memory', '--no-state'],
    // Applied config is not kept without state: only announced services here.
    serviceEntry: false,
    change: (control) => adminApply(control, WEB_TO_API, 'web.yaml'),
    resync: 'acked',
  });
  const { sent, ok, failed, reasons, samples } = r.stats;
  assert.equal(failed, 0, `failed requests: ${JSON.stringify([...reasons])}\n${samples.join('\n')}`);
  assert.equal(ok, sent);
  assert.ok(sent >= 2000, `the load ran (${sent} requests)`);
  assert.equal(r.reached.length, 2);
  // The hold is what kept them: a resync waited for the warm-up to end.
  assert.ok(r.resyncs.every((ms) => ms >= 5000), `resyncs ${r.resyncs.join(', ')} ms`);
});
