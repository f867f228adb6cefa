/**
 * Authorization as a stage of the mesh's one inbound policy (security/inbound-policy.ts), so the
 * HTTP pipeline and the gRPC server interceptor share it: the engine compiled from the mesh's
 * inbound listeners decides, a denial is Istio's 403 `RBAC: access denied` (the gRPC adapter maps
 * 403 to PERMISSION_DENIED) with Envoy's `RBAC` response flag, and an AUDIT match is recorded on
 * the call for telemetry (`call.state.authzAudit`) and published on the `meshlet:authz:audit`
 * diagnostics channel (Envoy's RBAC filter marks an AUDIT match with the `access_log_hint`
 * metadata for the access log to pick it up; here a subscriber logs it).
 */
import diagnostics_channel from 'node:diagnostics_channel';
import type { InboundRequestView } from '../../core/inbound.js';
import type { InboundStage } from '../inbound-policy.js';
import type { AuthzEngine } from './engine.js';
import { RBAC_DENIED } from './index.js';
import { trace } from '../../internal/debug.js';

const log = trace('authz');

/** The AUDIT channel's name (process-global, so every copy of the package publishes on one). */
export const AUTHZ_AUDIT_CHANNEL = 'meshlet:authz:audit';
const auditChannel = diagnostics_channel.channel(AUTHZ_AUDIT_CHANNEL);

/**
 * What `meshlet:authz:audit` carries for each request an AUDIT policy matched.
 *
 * @example
 * ```ts
 * diagnostics_channel.subscribe('meshlet:authz:audit', (m) => logger.info((m as AuthzAuditMessage).policy));
 * ```
 */
export interface AuthzAuditMessage {
  /** The matched AUDIT rule, as Envoy names RBAC policies (`ns[NS]-policy[NAME]-rule[N]`). */
  policy: string;
  /** Whether the request was then allowed (DENY and ALLOW policies still decide). */
  allowed: boolean;
  protocol: 'http' | 'grpc';
  method: string;
  host: string;
  /** The normalized path the policies matched. */
  path: string;
  localPort: number;
  sourceAddress: string;
  /** The caller's verified SPIFFE ID, if any. */
  principal?: string;
}

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
      if (d.audit !== undefined) {
        call.state['authzAudit'] = d.audit;
        if (auditChannel.hasSubscribers) auditChannel.publish(auditMessage(d.audit, d.allowed, call.view));
      }
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

function auditMessage(policy: string, allowed: boolean, v: InboundRequestView): AuthzAuditMessage {
  const m: AuthzAuditMessage = { policy, allowed, protocol: v.protocol, method: v.method, host: v.host, path: v.path, localPort: v.localPort, sourceAddress: v.peer.address };
  if (v.peer.principal !== undefined) m.principal = v.peer.principal;
  return m;
}
