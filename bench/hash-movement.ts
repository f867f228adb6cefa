// How many keys move when one of four hosts leaves a ring hash or Maglev table (from EDS) or is
// ejected (outlier detection): `node --import tsx bench/hash-movement.ts`. Figures in RESULTS.md.
import { Host } from '../src/core/balancer/host.js';
import { maglev } from '../src/core/balancer/maglev.js';
import { ringHash } from '../src/core/balancer/ring-hash.js';
import { loadXxhash, xxh64 } from '../src/core/xxhash.js';
import { hashHi, hashLo } from '../src/core/hash.js';

await loadXxhash();
const KEYS = 100_000;
const hosts = (): Host[] => Array.from({ length: 4 }, (_, i) => new Host(`10.0.0.${i + 1}`, 8080));
for (const [name, build] of [['ring hash', ringHash], ['maglev', maglev]] as const) {
  for (const how of ['removed from EDS', 'ejected'] as const) {
    const hs = hosts();
    const before = build(hs, { random: Math.random, skipExcluded: true });
    let after = before;
    if (how === 'ejected') hs[1]!.outlier.ejected = true;
    else after = build(hs.filter((_, i) => i !== 1), { random: Math.random, skipExcluded: true });
    const owners = Array.from({ length: KEYS }, (_, i) => xxh64(`key-${i}`));
    let survivors = 0;
    let moved = 0;
    for (const h of owners) {
      // Ejection is seen at lookup time, so "before" is the owner with nobody ejected.
      hs[1]!.outlier.ejected = false;
      const a = before.pick(hashHi(h), hashLo(h), 0)!.key;
      if (how === 'ejected') hs[1]!.outlier.ejected = true;
      const b = after.pick(hashHi(h), hashLo(h), 0)!.key;
      if (a === hs[1]!.key) continue;
      survivors++;
      if (a !== b) moved++;
    }
    console.log(`${name}, one of 4 hosts ${how}: ${((100 * moved) / survivors).toFixed(1)}% of the surviving hosts' keys move`);
  }
}
