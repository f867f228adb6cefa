/** Rolling Envoy fractional percents with an injectable random source. */
import type { Fraction } from './model/index.js';

/**
 * Rolls a fraction: true with probability numerator/denominator, the way Envoy and grpc-js-xds
 * do (`floor(random × denominator) < numerator`). 100% and 0% never consume randomness, so
 * seeded tests stay stable when unrelated fractions are added.
 *
 * @example rollFraction({ numerator: 50, denominator: 100 }, Math.random)
 */
export function rollFraction(f: Fraction, random: () => number): boolean {
  if (f.numerator <= 0) return false;
  if (f.numerator >= f.denominator) return true;
  return Math.floor(random() * f.denominator) < f.numerator;
}
