/**
 * Every error meshlet raises is a {@link MeshError} with a stable `code` from {@link ERROR_CODES}.
 * Codes are the public contract; messages may change. README's "Error codes" section documents
 * every code (a test keeps the two in sync).
 */
export const ERROR_CODES = {
  MESHLET_ERR_USAGE: 'A command-line invocation was malformed (unknown command, missing flag value).',
  MESHLET_ERR_FILE_READ: 'A configuration file or directory could not be read.',
  MESHLET_ERR_PORT_IN_USE: 'A port the control server wanted to listen on is already taken.',
  MESHLET_ERR_LISTEN: 'A server could not listen for a reason other than the port being taken.',
  MESHLET_ERR_CONTROL_UNREACHABLE: 'The control server (admin API or xDS) could not be reached.',
  MESHLET_ERR_CONTROL_REFUSED: 'Warning: the control plane address refused the connection (nothing listens there); the mesh runs without config and keeps retrying.',
  MESHLET_ERR_CONTROL_DNS: 'Warning: the control plane host name does not resolve; the mesh runs without config and keeps retrying.',
  MESHLET_ERR_CONTROL_NOT_XDS: 'Warning: the control plane address answers, but not as an xDS (ADS) server (an HTTP port such as the admin API, a gRPC server without ADS, or a TLS port reached in plaintext).',
  MESHLET_ERR_CONTROL_TLS: 'Warning: the TLS handshake with the control plane failed (certificate, trust or protocol mismatch).',
  MESHLET_ERR_CONFIG: 'An option passed to meshlet is invalid (for example a malformed control-plane address).',
  MESHLET_ERR_NO_CONFIG: 'A request named a host the mesh does not know while the mesh has no configuration yet (the control plane has not answered).',
  MESHLET_ERR_ADMIN_REQUEST: 'The control server admin API rejected a request.',
  MESHLET_ERR_CONFIG_YAML: 'A configuration file is not valid YAML.',
  MESHLET_ERR_CONFIG_LIMIT: 'A configuration input exceeds a bound (file size, document count, nesting depth, scalar size or alias expansion); see README "Config input".',
  MESHLET_ERR_CONFIG_RESOURCE: 'A YAML document is not a Kubernetes-style resource (apiVersion/kind/metadata/spec).',
  MESHLET_ERR_CONFIG_UNKNOWN_KIND: 'A resource has an apiVersion/kind meshlet does not support.',
  MESHLET_ERR_CONFIG_SCHEMA: 'A field has the wrong type or an invalid value.',
  MESHLET_ERR_CONFIG_UNKNOWN_FIELD: 'A field is not part of the Istio API for that resource.',
  MESHLET_ERR_CONFIG_DEPRECATED: 'A deprecated field is used (warning).',
  MESHLET_ERR_CONFIG_DUPLICATE: 'Two resources of one kind share a namespace/name, or one resource repeats a name.',
  MESHLET_ERR_CONFIG_UNKNOWN_SUBSET: 'A route names a subset that no DestinationRule defines for its host.',
  MESHLET_ERR_CONFIG_EMPTY_SUBSET: 'A DestinationRule subset selects no known endpoint (warning).',
  MESHLET_ERR_CONFIG_UNKNOWN_HOST: 'A route or rule names a host no service, ServiceEntry or workload serves.',
  MESHLET_ERR_CONFIG_WEIGHTS: 'Route weights are negative, do not sum to 100, or conflict between resources.',
  MESHLET_ERR_CONFIG_CONFLICT: 'Two resources configure the same host in ways that cannot both apply.',
  MESHLET_ERR_STORE: 'The configuration store failed to read or write.',
  MESHLET_ERR_XDS_DECODE: 'An xDS resource could not be decoded from protobuf.',
  MESHLET_ERR_XDS_INVALID: 'An xDS resource decoded but failed validation (NACKed).',
  MESHLET_ERR_XDS_STREAM: 'The ADS stream failed; the client keeps its cached config and reconnects.',
  MESHLET_ERR_XDS_PROTOCOL: 'An xDS peer broke the protocol (wrong type URL, unknown nonce).',
  MESHLET_ERR_CLOSED: 'The object was used after close().',
  MESHLET_ERR_CA_DIR: 'The CA directory is unreadable, unwritable, incomplete or holds keys and certificates that do not match.',
  MESHLET_ERR_CA_TOKEN: 'A join token is malformed, expired, for another trust domain, or its signature does not verify.',
  MESHLET_ERR_CA_TOKEN_USED: 'A bounded-use join token (`meshlet token create --uses N`) has obtained all the certificates it may; renewals by the workloads that joined with it go on.',
  MESHLET_ERR_CA_TOKEN_REVOKED: 'The join token was revoked (`meshlet token revoke`, `POST /tokens/revoke`): it joins no workload, and certificates issued on its authority are not renewed.',
  MESHLET_ERR_CA_CSR: 'A certificate signing request is malformed, its signature does not verify, or its key is not accepted.',
  MESHLET_ERR_CA_IDENTITY: 'A certificate request asks for an identity its token or client certificate does not grant.',
  MESHLET_ERR_CA_OVERLOADED: 'The CA has too many certificate requests queued; retry later.',
  MESHLET_ERR_CA_SIGNER: 'A CA signing worker failed; the request was not signed.',
  MESHLET_ERR_IDENTITY: 'The CA answered with a certificate chain the client cannot accept (wrong SPIFFE ID, untrusted root, not an X.509-SVID).',
  MESHLET_ERR_TLS_PEER: 'A TLS peer presented no certificate, an unverified one, or a SPIFFE ID other than the expected one.',
  MESHLET_ERR_UNKNOWN_HOST: 'Strict mode: an outbound request named a host the mesh does not know.',
  MESHLET_ERR_XDS_LIMIT: 'An ADS stream went over a control server limit (resource names per request, node metadata size, request rate); the server ended the stream with RESOURCE_EXHAUSTED.',
  MESHLET_ERR_XDS_NODE_CONFLICT: 'An ADS stream announced a node id that another open stream holds; the server refused it with ALREADY_EXISTS.',
  MESHLET_ERR_ANNOUNCEMENT: 'An announced endpoint was not registered: its address is link-local, multicast, unspecified or outside the allowed networks, or it has too many labels or ports. Its config is still served.',
  MESHLET_ERR_ADMIN_AUTH: 'The admin API refused a request: missing or wrong token, a cross-origin Origin, or a Host that is not the admin address.',
  MESHLET_ERR_ADMIN_LIMIT: 'The admin API refused a request over a limit: body too large (413) or too many requests at once (503).',
  MESHLET_ERR_TIMEOUT: 'A wait had a deadline and it passed (for example `server.settled()`: clients did not answer the latest config in time).',
  MESHLET_ERR_ETCD: 'The etcd store cannot be used: the optional peer dependency etcd3 is not installed, or etcd did not answer.',
  MESHLET_ERR_STORE_KEY: 'The store encryption key (--store-key-file / MESHLET_STORE_KEY) is missing, not 32 bytes, or does not decrypt what the store holds.',
  MESHLET_ERR_CONFIG_UNSUPPORTED: 'Warning: a valid Istio field that meshlet does not apply is set; it is ignored (docs/configuration.md lists each).',
  MESHLET_ERR_ACCESS_LOG_FILTER: 'An access log filter expression (Telemetry `accessLogging[].filter.expression` or the `accessLog.filter` option) is malformed or uses CEL meshlet does not support; see README "Access logs".',
  MESHLET_ERR_TLS_FILES: 'The TLS files of a DestinationRule (clientCertificate, privateKey, caCertificates) cannot be read, are larger than 1 MiB, do not hold PEM, or the key does not belong to the certificate; the request is not sent.',
} as const;

/** A stable meshlet error code. */
export type MeshErrorCode = keyof typeof ERROR_CODES;

const kMeshError = Symbol.for('meshlet.error');

/**
 * Base class of every meshlet error. Branded with `Symbol.for` so `instanceof` works even when two
 * copies of the package (ESM and CJS builds) are loaded in one process.
 *
 * @example
 * ```ts
 * try { await loadConfig('bad.yaml'); } catch (err) {
 *   if (err instanceof MeshError && err.code === 'MESHLET_ERR_FILE_READ') console.error(err.message);
 * }
 * ```
 */
export class MeshError extends Error {
  readonly code: MeshErrorCode;
  /** Extra structured detail (file, line, field path...) when the error has any. */
  readonly detail?: Readonly<Record<string, unknown>>;

  constructor(code: MeshErrorCode, message: string, options?: { cause?: unknown; detail?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MeshError';
    this.code = code;
    if (options?.detail) this.detail = options.detail;
  }

  get [kMeshError](): true {
    return true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kMeshError] === true;
  }
}

/** Creates a {@link MeshError}; a shorthand used across the code base. */
export function meshError(code: MeshErrorCode, message: string, options?: { cause?: unknown; detail?: Record<string, unknown> }): MeshError {
  return new MeshError(code, message, options);
}

/** Narrows an unknown to a {@link MeshError} carrying the given code. */
export function isMeshError(value: unknown, code?: MeshErrorCode): value is MeshError {
  return value instanceof MeshError && (code === undefined || value.code === code);
}
