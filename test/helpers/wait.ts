// The one polling wait and the one "apply config and wait until every client answered" the test
// fixtures share (they had three copies each).
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import type { ControlServer } from '../../src/control/index.js';

/**
 * Polls `check` (sync or async) until it returns a truthy value, which it resolves with; a
 * check that throws counts as not yet. Rejects after `timeoutMs`, naming `what` and the last error.
 */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 3000, what = 'condition', intervalMs = 20): Promise<Exclude<Awaited<T>, undefined | null | false | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as Exclude<Awaited<T>, undefined | null | false | 0 | ''>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Parses `yaml` (no error diagnostics allowed), applies it, and waits until every connected client has answered what it produced. */
export async function applyYaml(server: ControlServer, yaml: string, file = 'test.yaml'): Promise<void> {
  const { resources, diagnostics } = parseConfig(yaml, file);
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  await server.store.apply(resources);
  await server.settled();
}
