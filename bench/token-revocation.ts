// What the token revocation check adds to a token-authenticated CSR or a renewal:
// `node --import tsx bench/token-revocation.ts`. Process CPU per `revocations.check()`
// with no list file, with a 1,000-entry list, and in bursts of 500 concurrent checks (what a CSR
// burst does: the checks share one stat of the file). Each variant runs twice (A/A).
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenRevocations } from '../src/control/ca/revocations.js';

const N = 20_000;
type Variant = 'no file, one at a time' | '1,000 entries, one at a time' | '1,000 entries, bursts of 500';

async function run(variant: Variant): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-bench-revocation-'));
  try {
    const list = await TokenRevocations.open(dir);
    if (!variant.startsWith('no file')) for (let i = 0; i < 1000; i++) await list.revoke({ jti: `jti-${i}` });
    for (let i = 0; i < 1000; i++) await list.check('warm-up');
    const start = process.cpuUsage();
    if (variant.includes('bursts')) {
      for (let round = 0; round < N / 500; round++) await Promise.all(Array.from({ length: 500 }, () => list.check('not-revoked')));
    } else {
      for (let i = 0; i < N; i++) await list.check('not-revoked');
    }
    const used = process.cpuUsage(start);
    return (used.user + used.system) / N;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const variants: Variant[] = ['no file, one at a time', '1,000 entries, one at a time', '1,000 entries, bursts of 500'];
const results = new Map<string, number[]>();
for (let round = 0; round < 2; round++) {
  for (const v of variants) {
    const key = round === 0 ? v : `${v} (A/A)`;
    results.set(key, [...(results.get(key) ?? []), await run(v)]);
  }
}
process.stdout.write(`load avg ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores; ${N} checks per variant\n`);
for (const [k, v] of results) process.stdout.write(`${k.padEnd(44)} ${v[0]!.toFixed(2)} µs CPU per check (process)\n`);
