/** Shared pieces of the resource model: exact fractions and validation results. Plain immutable data built by src/xds/resources, read by the engine. */

/**
 * An exact fraction, as Envoy's FractionalPercent (grpc-js-xds keeps the same shape):
 * `denominator` is 100, 10 000 or 1 000 000 and `numerator <= denominator`.
 * A runtime rolls `Math.floor(random() * denominator) < numerator`.
 */
export interface Fraction {
  readonly numerator: number;
  readonly denominator: 100 | 10_000 | 1_000_000;
}



/** Result of validating one resource: the model, or every error with its field path. */
export type ValidationResult<M> =
  | { readonly ok: true; readonly name: string; readonly model: M }
  | { readonly ok: false; readonly name?: string; readonly errors: readonly string[] };
