/**
 * Authorization as a stage of the mesh's one inbound policy (security/inbound-policy.ts), so the
 * HTTP pipeline and the gRPC server interceptor share it: the engine compiled from the mesh's
 * inbound listeners decides, a denial is Istio's 403 `RBAC: access denied` (the gRPC adapter maps
 * 403 to PERMISSION_DENIED) with Envoy's `RBAC` response flag, and an AUDIT match is recorded on
 * the call for telemetry (`call.state.authzAudit`).
 */
import type { InboundStage } from '../inbound-policy.js';
import type { AuthzEngine } from './engine.js';
import { RBAC_DENIED } from './index.js';
import { trace } from '../../internal/debug.js';

const log = trace('authz');

/**
 * The authorization stage over whatever engine `current()` returns (the latest snapshot's).
 *
 * @example
 * ```ts
 * mesh.inbound.policy.use(authzStage(() => feed.authz), INBOUND_PHASE.authz);
 * ```
 */
export function authzStage(current: () => AuthzEngine): InboundStage {
  return {
    name: 'authz',
    onRequest(call) {
      const d = current().check(call.view);
      if (d.audit !== undefined) call.state['authzAudit'] = d.audit;
      if (d.allowed) {
        if (d.policy !== undefined) call.state['authzPolicy'] = d.policy;
        return undefined;
      }
      log('%s %s denied on port %d: %s %s', call.view.method, call.view.path, call.view.localPort, d.reason, d.policy ?? '');
      call.flags.push('RBAC');
      call.state['authzDenied'] = d.policy ?? d.reason;
      return RBAC_DENIED;
    },
  };
}
