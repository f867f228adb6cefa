/**
 * meshlet's own knobs on Istio resources, written as `meshlet.io/…` annotations so that the
 * resources stay valid Istio YAML (Istio ignores annotations it does not know). Each one maps to
 * a real Envoy field or route metadata in the xDS we send, never to a side channel.
 */
import type { IstioResource, ResourceKind } from './types.js';

/** The `meshlet.io/` annotation prefix. */
export const ANNOTATION_PREFIX = 'meshlet.io/';

/**
 * Every annotation meshlet reads: the kinds it applies to and what it means.
 *
 * - `meshlet.io/hedge-on-per-try-timeout: "true"` (VirtualService): Envoy's route
 *   `hedge_policy.hedge_on_per_try_timeout` on each HTTP route of the VirtualService. At a
 *   per-try timeout the attempt keeps running and a second one starts; the first usable
 *   response wins. Only idempotent requests are duplicated.
 * - `meshlet.io/retry-non-idempotent: "true"` (VirtualService): route metadata
 *   `meshlet.retryNonIdempotent`; POST/PATCH/… are retried on every `retryOn` condition, as
 *   Envoy does, instead of only when the request provably never reached the application.
 */
export const ANNOTATIONS: Readonly<Record<string, { kinds: readonly ResourceKind[]; values: readonly string[] }>> = {
  'meshlet.io/hedge-on-per-try-timeout': { kinds: ['VirtualService'], values: ['true', 'false'] },
  'meshlet.io/retry-non-idempotent': { kinds: ['VirtualService'], values: ['true', 'false'] },
};

/**
 * Whether a boolean meshlet annotation is set to "true" on a resource.
 *
 * @example
 * ```ts
 * if (annotationOn(vs, 'meshlet.io/hedge-on-per-try-timeout')) route.hedge_policy = { hedge_on_per_try_timeout: true };
 * ```
 */
export function annotationOn(resource: Pick<IstioResource, 'metadata'>, name: keyof typeof ANNOTATIONS): boolean {
  return resource.metadata.annotations?.[name] === 'true';
}

/** A problem with one `meshlet.io/` annotation, for the loader to report at its line. */
export interface AnnotationProblem {
  key: string;
  severity: 'error' | 'warning';
  message: string;
}

/**
 * Checks a resource's `meshlet.io/` annotations: an unknown name or one that does not apply to
 * the kind is a warning (the resource still works, the knob does nothing), a bad value an error.
 *
 * @example
 * ```ts
 * checkAnnotations('VirtualService', { 'meshlet.io/hedge-on-per-try-timeout': 'yes' });
 * // [{ key: 'meshlet.io/hedge-on-per-try-timeout', severity: 'error', message: '… must be "true" or "false" …' }]
 * ```
 */
export function checkAnnotations(kind: ResourceKind, annotations: Readonly<Record<string, string>> | undefined, suggest: (key: string, known: readonly string[]) => string | undefined): AnnotationProblem[] {
  const out: AnnotationProblem[] = [];
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    const spec = Object.hasOwn(ANNOTATIONS, key) ? ANNOTATIONS[key] : undefined;
    if (!spec) {
      const hint = suggest(key, Object.keys(ANNOTATIONS));
      out.push({ key, severity: 'warning', message: `unknown meshlet annotation ${JSON.stringify(key)} is ignored${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}` });
    } else if (!spec.kinds.includes(kind)) {
      out.push({ key, severity: 'warning', message: `annotation ${JSON.stringify(key)} applies to ${spec.kinds.join(', ')}, not ${kind}; ignored` });
    } else if (!spec.values.includes(value)) {
      out.push({ key, severity: 'error', message: `annotation ${JSON.stringify(key)} must be ${spec.values.map((v) => JSON.stringify(v)).join(' or ')}, got ${JSON.stringify(value)}` });
    }
  }
  return out;
}
