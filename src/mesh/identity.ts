/**
 * A mesh's workload identity, wired from a join token: the IdentityManager (SVID and rotation),
 * the MeshTls secure contexts the connectors and servers use, and the ADS credentials for the
 * control server's secure port. A mesh without a token has none of it and talks plaintext, like
 * a workload without a sidecar.
 */
import type * as grpc from '@grpc/grpc-js';
import { meshError, type MeshErrorCode } from '../errors.js';
import type { Disposable } from '../internal/events.js';
import { grpcLib } from '../grpc/lib.js';
import { IdentityManager } from '../security/identity/manager.js';
import { MeshTls } from '../security/tls/mesh-tls.js';
import { decodeJoinToken } from '../security/identity/join-token.js';
import type { TokenSource } from './token.js';

export { decodeJoinToken };

/** The name the control server's certificate carries (Istio's istiod name). */
const CONTROL_SERVER_NAME = 'istiod.istio-system.svc';

/** Options of {@link startIdentity}. */
export interface IdentityOptions {
  token: TokenSource;
  /** `host:port` of the control server's secure port. */
  controlPlane: string;
  /** Requested SVID lifetime (default: the CA's, 24 h). */
  ttlSeconds?: number;
  /** How long to wait for the first SVID before starting anyway (ADS then waits for it). */
  waitMs: number;
}

/**
 * Starts obtaining the SVID; resolves when the first one arrived or `waitMs` passed (the manager
 * keeps trying in the background, and everything that needs the identity waits for it).
 *
 * @example
 * ```ts
 * const tls = await startIdentity({ token, controlPlane: '127.0.0.1:15012', waitMs: 5000 });
 * tls.spiffeId; // spiffe://cluster.local/ns/default/sa/reviews
 * ```
 */
export async function startIdentity(options: IdentityOptions): Promise<MeshTls> {
  const manager = new IdentityManager({ token: options.token, controlPlane: options.controlPlane, ...(options.ttlSeconds !== undefined ? { ttlSeconds: options.ttlSeconds } : {}) });
  const tls = new MeshTls(manager);
  let timer: NodeJS.Timeout | undefined;
  // The CA refusing a literal token on the first join (used up, revoked, expired, another CA's)
  // is final: no retry can change that answer, so createMesh fails with the CA's coded error
  // instead of starting a mesh that waits for an identity it will never get. A token read from a
  // function (MESHLET_TOKEN_FILE) may be replaced, so that one keeps retrying.
  let refused: Disposable | undefined;
  const final = new Promise<never>((_, reject) => {
    if (typeof options.token !== 'string') return;
    refused = manager.on('error', ({ error }) => {
      if (manager.current() === undefined && FINAL_REFUSALS.has(error.code)) reject(error);
    });
  });
  try {
    await Promise.race([manager.start(), final, new Promise<void>((resolve) => { timer = setTimeout(resolve, options.waitMs); })]);
  } catch (err) {
    tls.close();
    manager.close();
    throw err;
  } finally {
    clearTimeout(timer);
    refused?.dispose();
  }
  return tls;
}

/** CA answers to a first join that a retry with the same token cannot change. */
const FINAL_REFUSALS = new Set<MeshErrorCode>(['MESHLET_ERR_CA_TOKEN', 'MESHLET_ERR_CA_TOKEN_USED', 'MESHLET_ERR_CA_TOKEN_REVOKED']);

/**
 * ADS over the secure port: the SVID as client certificate (the control server reads the
 * announced endpoint's service account from it), the mesh roots as trust, the control server's
 * name checked. Certificates come from the MeshTls provider, so a reconnect after a rotation
 * presents the new SVID.
 */
export function adsCredentials(tls: MeshTls): { credentials: grpc.ChannelCredentials; channelOptions: grpc.ChannelOptions } {
  const credentials = grpcLib().experimental.createCertificateProviderChannelCredentials(tls, tls, {});
  return { credentials, channelOptions: { 'grpc.ssl_target_name_override': CONTROL_SERVER_NAME, 'grpc.default_authority': CONTROL_SERVER_NAME } };
}
