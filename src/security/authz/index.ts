/**
 * Authorization (Istio AuthorizationPolicy as Envoy RBAC) for a mesh's inbound requests:
 * compile the decoded inbound listeners once per snapshot, then `check(view)` per request.
 */
import type { InboundVerdict } from '../../core/inbound.js';
import type { InboundListenerModel, ListenerModel } from '../../core/model/index.js';
import type { AuthzDecision } from './engine.js';
import { AuthzEngine } from './engine.js';

export { AuthzEngine, type AuthzDecision } from './engine.js';
export { normalizeForPolicy, canonicalRequestPath } from './path.js';
export { compileUriTemplate } from './uri-template.js';

/** Istio's answer to a denied HTTP request (gRPC adapters map 403 to PERMISSION_DENIED). */
export const RBAC_DENIED: InboundVerdict = Object.freeze({ status: 403, body: 'RBAC: access denied' });

/**
 * The verdict for a decision: undefined when allowed, else Istio's 403 `RBAC: access denied`.
 *
 * @example
 * ```ts
 * const verdict = verdictFor(engine.check(view)); // undefined or { status: 403, body: 'RBAC: access denied' }
 * ```
 */
export function verdictFor(d: AuthzDecision): InboundVerdict | undefined {
  return d.allowed ? undefined : RBAC_DENIED;
}

/**
 * Compiles the inbound listeners among a mesh's decoded LDS resources (those carrying
 * `inbound`, see xds/resources/inbound.ts), in name order so the choice between equal
 * listeners of one port is stable.
 *
 * @example
 * ```ts
 * const engine = authzFromListeners(feed.inboundListeners);
 * engine.inboundMode(9080);
 * ```
 */
export function authzFromListeners(listeners: ReadonlyMap<string, ListenerModel>): AuthzEngine {
  const inbound: InboundListenerModel[] = [];
  for (const name of [...listeners.keys()].sort()) {
    const l = listeners.get(name)?.inbound;
    if (l) inbound.push(l);
  }
  return inbound.length === 0 ? AuthzEngine.EMPTY : AuthzEngine.compile(inbound);
}
