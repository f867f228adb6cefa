/**
 * jwt_authn as a runtime of the HTTP filter registry (core/filters: Envoy's filter
 * implementation next to its config factory, the decoder in xds/resources/jwt-authn.ts): an
 * inbound listener's jwt_authn entry compiles to a filter whose `inbound` stage runs in the
 * policy's authn phase, before RBAC. The same runtime the {@link JwtAuthnStage} uses; this is
 * the face for code that compiles whole inbound listeners through the registry.
 */
import type { CompiledHttpFilter, HttpFilterRuntime } from '../../core/filters/types.js';
import type { InboundCall } from '../inbound-policy.js';
import { INBOUND_PHASE } from '../inbound-policy.js';
import { JwtAuthnFilter } from './filter.js';
import { JwksCache } from './keys.js';
import { JWT_AUTHN_TYPE_URL, jwtOf, settle } from './stage.js';

/**
 * The jwt_authn filter runtime; pass the mesh's JwksCache so remote keys survive recompiles.
 *
 * @example
 * ```ts
 * const registry = defaultHttpFilterRuntimes().register(jwtAuthnHttpFilter(cache));
 * const [jwt] = registry.compile(inboundListener.httpFilters); // jwt.inbound.stage → policy.use(stage, phase)
 * ```
 */
export function jwtAuthnHttpFilter(cache: JwksCache = new JwksCache()): HttpFilterRuntime {
  return {
    typeUrl: JWT_AUTHN_TYPE_URL,
    compile(name, config): CompiledHttpFilter | undefined {
      const model = jwtOf([{ name, typeUrl: config.typeUrl, config }]);
      if (!model) return undefined;
      const filter = new JwtAuthnFilter(model, cache);
      const onRequest = (call: InboundCall) => {
        const r = filter.authenticate(call.view);
        return r instanceof Promise ? r.then((x) => settle(call, x)) : settle(call, r);
      };
      return { name, inbound: { stage: { name, onRequest }, phase: INBOUND_PHASE.authn } };
    },
  };
}
