import { rootCertificates } from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import { grpcLib } from '../../grpc/lib.js';
import type { TlsTransportModel } from '../../core/model/transport.js';
import { verifyServer } from './connector.js';
import type { MeshTls } from './mesh-tls.js';
import { loadTlsFilesSync } from './tls-files.js';

/**
 * Channel credentials from a transport's files, or — when they cannot be used — credentials
 * whose connections fail with the MESHLET_ERR_TLS_FILES error (the call fails UNAVAILABLE with
 * its message), never plaintext.
 */
function fileCredentials(t: TlsTransportModel): grpc.ChannelCredentials {
  const lib = grpcLib();
  try {
    const m = loadTlsFilesSync(t.files!);
    return lib.credentials.createSsl(Buffer.from(m.ca ?? rootCertificates.join('\n')), m.key ? Buffer.from(m.key) : null, m.cert ? Buffer.from(m.cert) : null, {
      checkServerIdentity: (host, cert) => verifyServer(t, host, cert),
    });
  } catch (err) {
    const error = err as Error;
    class Unusable extends lib.ChannelCredentials {
      _isSecure(): boolean {
        return true;
      }
      _equals(other: grpc.ChannelCredentials): boolean {
        return other === this;
      }
      _createSecureConnector(): grpc.experimental.SecureConnector {
        return {
          connect: () => Promise.reject(error),
          waitForReady: () => Promise.resolve(),
          getCallCredentials: () => lib.credentials.createEmpty(),
          destroy: () => {},
        };
      }
    }
    return new Unusable();
  }
}

/** Subchannel option carrying the endpoint's {@link TlsTransportModel} (set by the meshlet LB policy). */
export const TRANSPORT_OPTION = 'grpc.meshlet.transport';

/** Node's default CAs as a certificate provider (DestinationRule SIMPLE). */
class SystemRoots implements grpc.experimental.CertificateProvider {
  private readonly ca = Buffer.from(rootCertificates.join('\n'));
  addCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener): void {
    process.nextTick(() => l({ caCertificate: this.ca }));
  }
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(): void {}
  removeIdentityCertificateListener(): void {}
}

/**
 * Channel credentials for `mesh:///` channels, decided per subchannel as grpc-js-xds'
 * `XdsChannelCredentials` does (xds-credentials.ts: its CDS policy puts certificate providers
 * and a SAN matcher into the subchannel args, the credentials read them when connecting): a
 * subchannel whose endpoint's transport is TLS connects with the mesh identity and roots (the
 * MeshTls certificate provider, so a rotated SVID is used by the next connection) and checks
 * the server's SANs; any other connects in plaintext.
 *
 * @example
 * ```ts
 * const creds = meshChannelCredentials(meshTls);
 * new grpc.Client('mesh:///reviews:9090', creds, mesh.grpc.channelOptions);
 * ```
 */
export function meshChannelCredentials(tls: MeshTls | undefined): grpc.ChannelCredentials {
  const lib = grpcLib();
  const insecure = lib.credentials.createInsecure();
  const byTransport = new WeakMap<TlsTransportModel, grpc.ChannelCredentials>();
  let system: SystemRoots | undefined;
  const secureFor = (t: TlsTransportModel): grpc.ChannelCredentials => {
    let creds = byTransport.get(t);
    if (creds) return creds;
    if (t.files) {
      // DestinationRule SIMPLE/MUTUAL files: grpc-js builds credentials synchronously, so they
      // are read (bounded, checked) synchronously, once per transport model.
      creds = fileCredentials(t);
      byTransport.set(t, creds);
      return creds;
    }
    const ca = t.trust === 'mesh' ? tls : (system ??= new SystemRoots());
    if (!ca) return insecure;
    creds = lib.experimental.createCertificateProviderChannelCredentials(ca, t.identity ? tls! : null, {
      checkServerIdentity: (host, cert) => verifyServer(t, host, cert),
    });
    byTransport.set(t, creds);
    return creds;
  };
  class MeshChannelCredentials extends lib.ChannelCredentials {
    _isSecure(): boolean {
      return true;
    }
    _equals(other: grpc.ChannelCredentials): boolean {
      return other === this;
    }
    _createSecureConnector(target: grpc.experimental.GrpcUri, options: grpc.ChannelOptions, callCredentials?: grpc.CallCredentials): grpc.experimental.SecureConnector {
      const t = options[TRANSPORT_OPTION] as TlsTransportModel | undefined;
      // Plaintext, and — for a mesh without an identity, a workload without a sidecar — mesh mTLS too.
      if (t?.kind !== 'tls' || (t.identity && !tls)) return insecure._createSecureConnector(target, options, callCredentials);
      const creds = secureFor(t)!;
      if (tls) tls.handshakes++;
      return creds._createSecureConnector(target, t.sni ? { ...options, 'grpc.ssl_target_name_override': t.sni } : options, callCredentials);
    }
  }
  return new MeshChannelCredentials();
}
