import type * as grpc from '@grpc/grpc-js';
import { grpcLib, Status } from '../../grpc/lib.js';
import { ERROR_CODES, meshError, type MeshError, type MeshErrorCode } from '../../errors.js';
import { CREATE_CERTIFICATE_METHOD, MAX_MESSAGE_BYTES, decodeCertificateResponse, encodeCertificateRequest } from './ca-protocol.js';

/** One CreateCertificate call over the control server's TLS port. */
export interface CertificateRequest {
  /** `host:port` of the secure port. */
  address: string;
  /** Name the server certificate must carry. */
  serverName: string;
  /** Roots the server must chain to (PEM). */
  trustPem: string;
  csr: string;
  /** Requested lifetime, seconds (0: the CA's default). */
  validitySeconds?: number;
  /** Join token, sent as `authorization: Bearer …`. */
  token?: string;
  /** Current SVID key and chain, presented as the client certificate. */
  client?: { keyPem: string; chainPem: string };
  /** Default 10 s. */
  timeoutMs?: number;
}

/** The transport seam: sends a request, resolves Istio's `cert_chain`. */
export type CertificateRequester = (request: CertificateRequest) => Promise<string[]>;

const GRPC_TO_CODE: Partial<Record<grpc.status, MeshErrorCode>> = {
  [Status.UNAUTHENTICATED]: 'MESHLET_ERR_CA_TOKEN',
  [Status.PERMISSION_DENIED]: 'MESHLET_ERR_CA_IDENTITY',
  [Status.INVALID_ARGUMENT]: 'MESHLET_ERR_CA_CSR',
  [Status.RESOURCE_EXHAUSTED]: 'MESHLET_ERR_CA_OVERLOADED',
};

/**
 * Calls `istio.v1.auth.IstioCertificateService/CreateCertificate` on a fresh channel that is closed
 * afterwards (rotations are hours apart; Linkerd's identity client does the same). The server is
 * verified against `trustPem` and `serverName`.
 *
 * @example
 * ```ts
 * const chain = await requestCertificate({ address: '127.0.0.1:15012', serverName, trustPem, csr, token });
 * ```
 */
export const requestCertificate: CertificateRequester = (request) => {
  const grpc = grpcLib();
  const credentials = grpc.credentials.createSsl(
    Buffer.from(request.trustPem),
    request.client ? Buffer.from(request.client.keyPem) : null,
    request.client ? Buffer.from(request.client.chainPem) : null,
  );
  const client = new grpc.Client(request.address, credentials, {
    'grpc.ssl_target_name_override': request.serverName,
    'grpc.default_authority': request.serverName,
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  });
  const metadata = new grpc.Metadata();
  if (request.token) metadata.set('authorization', `Bearer ${request.token}`);
  return new Promise<string[]>((resolve, reject) => {
    client.makeUnaryRequest(
      CREATE_CERTIFICATE_METHOD,
      (msg: { csr: string; validityDuration: number }) => encodeCertificateRequest(msg),
      (bytes: Buffer) => decodeCertificateResponse(bytes),
      { csr: request.csr, validityDuration: request.validitySeconds ?? 0 },
      metadata,
      { deadline: Date.now() + (request.timeoutMs ?? 10_000) },
      (err, chain) => {
        client.close();
        if (err || !chain) reject(fromGrpc(err, request.address));
        else resolve(chain);
      },
    );
  });
};

function fromGrpc(err: grpc.ServiceError | null, address: string): MeshError {
  if (!err) return meshError('MESHLET_ERR_IDENTITY', 'the CA answered without a certificate chain');
  // Our CA prefixes details with its MeshError code; other CAs map by gRPC status.
  const prefixed = /^(MESHLET_ERR_[A-Z_]+): /.exec(err.details ?? '');
  const code = prefixed && prefixed[1]! in ERROR_CODES ? (prefixed[1] as MeshErrorCode) : GRPC_TO_CODE[err.code] ?? 'MESHLET_ERR_CONTROL_UNREACHABLE';
  return meshError(code, `CA at ${address}: ${err.details || grpcLib().status[err.code]}`, { cause: err, detail: { grpcStatus: err.code } });
}
