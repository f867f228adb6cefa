import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { isMeshError, type MeshErrorCode } from '../../errors.js';
import { trace } from '../../internal/debug.js';
import type { Disposable } from '../../internal/events.js';
import {
  CREATE_CERTIFICATE_METHOD, MAX_MESSAGE_BYTES, decodeCertificateRequest, encodeCertificateResponse, type CertificateRequestMessage,
} from '../../security/identity/ca-protocol.js';
import { AdsServer, disableNagle } from '../ads-server.js';
import { hostPort, listenError, probePort } from '../listen.js';
import type { CertificateAuthority } from './authority.js';
import { CertificateService } from './certificate-service.js';

const log = trace('ca');

/** The DNS name every control-server certificate carries and clients verify (Istio's istiod name). */
export const CONTROL_SERVER_NAME = 'istiod.istio-system.svc';

/** Options of {@link SecureServer.start}. */
export interface SecureServerOptions {
  ca: CertificateAuthority;
  /** ADS served on the TLS port too (istiod's 15012 serves xDS and the CA). */
  ads?: AdsServer;
  host: string;
  port: number;
  /** Extra DNS names or IPs for the server certificate (how remote clients reach it). */
  serverNames?: string[];
}

const STATUS: Partial<Record<MeshErrorCode, grpc.status>> = {
  MESHLET_ERR_CA_TOKEN: grpc.status.UNAUTHENTICATED,
  MESHLET_ERR_CA_TOKEN_USED: grpc.status.UNAUTHENTICATED,
  MESHLET_ERR_CA_TOKEN_REVOKED: grpc.status.UNAUTHENTICATED,
  MESHLET_ERR_CA_IDENTITY: grpc.status.PERMISSION_DENIED,
  MESHLET_ERR_CA_CSR: grpc.status.INVALID_ARGUMENT,
  MESHLET_ERR_CA_OVERLOADED: grpc.status.RESOURCE_EXHAUSTED,
  MESHLET_ERR_CLOSED: grpc.status.UNAVAILABLE,
};

/**
 * The control server's TLS port (Istio's 15012): `istio.v1.auth.IstioCertificateService/
 * CreateCertificate` and, when given, ADS — on one grpc-js server whose certificate the CA issues
 * for the control server. Client certificates are requested but optional: a workload without an
 * SVID yet comes with its join token; one with an SVID renews with it.
 *
 * @example
 * ```ts
 * const secure = await SecureServer.start({ ca, ads, host: '127.0.0.1', port: 15012 });
 * secure.port; // bound port
 * await secure.close();
 * ```
 */
export class SecureServer {
  private constructor(private readonly server: grpc.Server, readonly port: number, private readonly sub: Disposable) {}

  static async start(options: SecureServerOptions): Promise<SecureServer> {
    const { ca } = options;
    const names = serverNames(options.host, options.serverNames ?? []);
    const { keyPem, chainPem } = await ca.issueServerCertificate(names);
    const provider = new ServerCertificates(Buffer.from(ca.roots().join('')), Buffer.from(chainPem), Buffer.from(keyPem));
    // A CA reload (root rotation) re-issues this port's certificate from the new signer and
    // trusts the new bundle for client certificates; grpc-js swaps the secure context, open
    // connections keep theirs.
    const sub = ca.onChange(() => {
      ca.issueServerCertificate(names).then(
        (next) => provider.update(Buffer.from(ca.roots().join('')), Buffer.from(next.chainPem), Buffer.from(next.keyPem)),
        (err: unknown) => log('re-issuing the secure port certificate after a CA reload failed: %o', err),
      );
    });
    // Identity provider first: grpc-js' parameter names are the other way round, its code is not.
    const credentials = grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
    // The ADS limits (message size, streams per connection, keepalive) hold on this port too.
    const server = new grpc.Server(options.ads ? AdsServer.serverOptions(options.ads.limits) : { 'grpc.max_send_message_length': -1 });
    addCertificateService(server, new CertificateService(ca));
    options.ads?.serveOn(server);
    await probePort('secure (TLS)', options.host, options.port);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(hostPort(options.host, options.port), credentials, (err, bound) => (err ? reject(listenError('secure (TLS)', options.host, options.port, err)) : resolve(bound)));
    }).catch((err) => {
      sub.dispose();
      server.forceShutdown();
      throw err;
    });
    disableNagle(server);
    log('secure port %s: CA%s', hostPort(options.host, port), options.ads ? ' + ADS' : '');
    return new SecureServer(server, port, sub);
  }

  /** Stops serving (ADS streams on this port are ended by the AdsServer's own close). */
  async close(): Promise<void> {
    this.sub.dispose();
    this.server.forceShutdown();
  }
}

function addCertificateService(server: grpc.Server, service: CertificateService): void {
  const definition: grpc.ServiceDefinition = {
    CreateCertificate: {
      path: CREATE_CERTIFICATE_METHOD,
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: unknown) => value as Buffer,
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: (chain: string[]) => encodeCertificateResponse(chain),
      responseDeserialize: (bytes: Buffer) => bytes,
    },
  };
  server.addService(definition, {
    CreateCertificate: (call: grpc.ServerUnaryCall<Buffer, string[]>, callback: grpc.sendUnaryData<string[]>) => {
      let request: CertificateRequestMessage;
      try {
        if (call.request.length > MAX_MESSAGE_BYTES) throw new RangeError('request too large');
        request = decodeCertificateRequest(call.request);
      } catch (err) {
        return callback({ code: grpc.status.INVALID_ARGUMENT, details: `malformed IstioCertificateRequest: ${(err as Error).message}` });
      }
      const auth = call.metadata.get('authorization')[0];
      const token = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
      const peer = call.getAuthContext().sslPeerCertificate?.raw;
      service.createCertificate({ csr: request.csr, validitySeconds: request.validityDuration, ...(token ? { token } : {}), ...(peer ? { peerCertificate: peer } : {}) }).then(
        (chain) => callback(null, chain),
        (err: unknown) => {
          const code = isMeshError(err) ? STATUS[err.code] ?? grpc.status.INTERNAL : grpc.status.INTERNAL;
          if (code === grpc.status.INTERNAL) log('CreateCertificate failed: %o', err);
          callback({ code, details: `${isMeshError(err) ? `${err.code}: ` : ''}${(err as Error)?.message ?? String(err)}` });
        },
      );
    },
  });
}

/** The names the control server's certificate carries: Istio's istiod name, loopback, the bound host, extras. */
export function serverNames(host: string, extra: readonly string[]): { dnsNames: string[]; ipAddresses: string[] } {
  const dns = new Set<string>([CONTROL_SERVER_NAME, 'localhost']);
  const ips = new Set<string>(['127.0.0.1', '::1']);
  const wildcard = host === '0.0.0.0' || host === '::';
  for (const name of [...(wildcard ? [] : [host]), ...extra]) (isIP(name) ? ips : dns).add(name);
  if (wildcard) {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) ips.add(a.address.replace(/%.*$/, ''));
  }
  return { dnsNames: [...dns], ipAddresses: [...ips] };
}

/**
 * A grpc-js certificate provider holding the port's identity and CA bundle, replaced on a CA
 * reload. Updates are delivered on the next tick, as grpc-js' own providers do: its credentials
 * subscribe to the provider before registering the server's watcher, so a synchronous update
 * would reach nobody.
 */
class ServerCertificates implements grpc.experimental.CertificateProvider {
  private readonly caListeners = new Set<grpc.experimental.CaCertificateUpdateListener>();
  private readonly idListeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();

  constructor(private caCertificate: Buffer, private certificate: Buffer, private privateKey: Buffer) {}

  update(caCertificate: Buffer, certificate: Buffer, privateKey: Buffer): void {
    this.caCertificate = caCertificate;
    this.certificate = certificate;
    this.privateKey = privateKey;
    for (const l of this.caListeners) l({ caCertificate });
    for (const l of this.idListeners) l({ certificate, privateKey });
  }

  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(listener);
    process.nextTick(() => this.caListeners.has(listener) && listener({ caCertificate: this.caCertificate }));
  }
  removeCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.idListeners.add(listener);
    process.nextTick(() => this.idListeners.has(listener) && listener({ certificate: this.certificate, privateKey: this.privateKey }));
  }
  removeIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.idListeners.delete(listener);
  }
}
