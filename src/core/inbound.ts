/**
 * The protocol-neutral view of one inbound request: what the HTTP pipeline and the gRPC server
 * interceptor both hand to the inbound policy (mTLS mode, JWT authentication, authorization,
 * telemetry), so each of those is written once. Envoy's RBAC and jwt_authn filters read the same
 * attributes (connection: peer address, verified principal, SNI, local port; request: host,
 * method, path, headers).
 */

/** The caller as the connection shows it. */
export interface InboundPeerView {
  /** Remote address (IPv4 or IPv6 text, no brackets). */
  readonly address: string;
  readonly port: number;
  /**
   * The SPIFFE ID from the URI SAN of a client certificate that TLS verified against the mesh's
   * trust bundle; undefined on plaintext or when no certificate was presented. Never from headers.
   */
  readonly principal?: string;
}

/** What JWT authentication established (RequestAuthentication); absent when no token was verified. */
export interface InboundAuthView {
  /** `<iss>/<sub>` as Istio's requestPrincipals. */
  readonly principal: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * One inbound request. `path` is already normalized (merged slashes, dot segments resolved,
 * query kept apart) and is the path the application sees.
 *
 * @example
 * ```ts
 * const allowed = policy.check(view); // view built by the HTTP pipeline or the gRPC interceptor
 * ```
 */
export interface InboundRequestView {
  readonly protocol: 'http' | 'grpc';
  readonly peer: InboundPeerView;
  /** True when the connection is TLS (mTLS when `peer.principal` is set). */
  readonly tls: boolean;
  /** TLS SNI the client sent, if any. */
  readonly sni?: string;
  /** The port the request arrived on as the mesh announces it (the service port). */
  readonly localPort: number;
  /** This server's address on the connection (IPv4-mapped IPv6 as IPv4), for `destination.ip`. */
  readonly localAddress?: string;
  /** `:authority` / Host without a trailing dot (port kept as sent). */
  readonly host: string;
  /** HTTP method; gRPC calls are `POST`. */
  readonly method: string;
  /** Normalized path without query or fragment; gRPC: `/pkg.Service/Method`. */
  readonly path: string;
  /** Raw query string without `?` ('' when none). */
  readonly query: string;
  /** A request header (name lower-case); several values joined with `,`. gRPC: metadata. */
  header(name: string): string | undefined;
  /** Set by JWT authentication before authorization runs. */
  auth?: InboundAuthView;
}

/** A refusal: HTTP status and body, mapped to a gRPC status by the gRPC adapter. */
export interface InboundVerdict {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** The gRPC status for gRPC calls; default: Envoy's mapping of `status` (403 → PERMISSION_DENIED). */
  readonly grpcStatus?: number;
}

/**
 * A header of the request as Envoy's matchers read it: the pseudo-headers `:method`,
 * `:authority`, `:path` (with the query) and `:scheme` come from the view's fields, every other
 * name from `view.header()`. The one place both adapters' views and RBAC resolve them.
 *
 * @example
 * ```ts
 * requestHeader(view, ':authority'); // view.host
 * ```
 */
export function requestHeader(view: InboundRequestView, name: string): string | undefined {
  if (name.charCodeAt(0) !== 0x3a) return view.header(name);
  switch (name) {
    case ':method':
      return view.method;
    case ':authority':
      return view.host;
    case ':path':
      return view.query === '' ? view.path : `${view.path}?${view.query}`;
    case ':scheme':
      return view.tls ? 'https' : 'http';
    default:
      return undefined;
  }
}
