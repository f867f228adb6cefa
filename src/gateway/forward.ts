/**
 * One request through the gateway: the edge header handling Envoy does with
 * `use_remote_address: true` and `xff_num_trusted_hops: 0` (Envoy
 * `source/common/http/conn_manager_utility.cc` `mutateRequestHeaders`: append the peer to
 * `x-forwarded-for`, set `x-envoy-external-address` and `x-forwarded-proto`, drop the
 * `x-envoy-*` control headers and `x-forwarded-client-cert` an outsider may not set, a fresh
 * `x-request-id` for an external request), then Istio's gateway routing (the Host without its
 * port, `strip_any_host_port`) through the mesh's own dispatcher, so retries, breakers, load
 * balancing, mTLS and metrics are those of any mesh call.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import type { GatewayRoute } from './config.js';
import { hostCovered } from './config.js';
import { clientCertHeader } from './tls.js';
import { trace } from '../internal/debug.js';

const log = trace('gateway');

/** Request headers that describe the hop, not the request (RFC 9110 §7.6.1), and those the dispatcher sets itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authorization', 'host', 'http2-settings']);
/** Response headers not copied back (Node frames the response itself). */
const RESPONSE_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer']);
/** Envoy's local reply bodies, so clients and dashboards see what they would behind Envoy. */
const UPSTREAM_FAILURE = 'upstream connect error or disconnect/reset before headers';

/** Characters of a host name (lower case): letters, digits, `-`, `_`, `.`. */
function nameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95 || c === 46;
}

/**
 * The host part of a Host header, lower case, or undefined when the header is not a DNS name or
 * IP literal with an optional port (one linear scan, no regex).
 */
export function hostOf(header: string | undefined): string | undefined {
  if (header === undefined || header.length === 0 || header.length > 261) return undefined;
  const h = header.toLowerCase();
  let end = h.length;
  const colon = h.lastIndexOf(':');
  const bracket = h.charCodeAt(0) === 91; // [
  if (colon >= 0 && (!bracket || colon > h.indexOf(']'))) {
    const port = h.slice(colon + 1);
    if (port.length === 0 || port.length > 5) return undefined;
    for (let i = 0; i < port.length; i++) if (port.charCodeAt(i) < 48 || port.charCodeAt(i) > 57) return undefined;
    end = colon;
  }
  if (bracket) {
    if (h.charCodeAt(end - 1) !== 93 || end < 4) return undefined; // ]
    for (let i = 1; i < end - 1; i++) {
      const c = h.charCodeAt(i);
      if (!((c >= 48 && c <= 58) || (c >= 97 && c <= 102) || c === 46)) return undefined;
    }
    return h.slice(0, end);
  }
  let name = h.slice(0, end);
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0 || name.charCodeAt(0) === 46 || name.charCodeAt(0) === 45) return undefined;
  let label = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!nameChar(c)) return undefined;
    if (c === 46) {
      if (label === 0) return undefined;
      label = 0;
    } else if (++label > 63) return undefined;
  }
  return name;
}

/** The headers sent upstream for an edge request from `peer`. */
export function edgeHeaders(incoming: IncomingHttpHeaders, peer: string, scheme: 'http' | 'https'): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name of Object.keys(incoming)) {
    // HTTP/2 pseudo-headers (`:authority`, `:path`, …) are the request line, not headers.
    if (name.charCodeAt(0) === 58 || HOP_BY_HOP.has(name) || name.startsWith('x-envoy-') || name === 'x-forwarded-client-cert' || name === 'x-request-id') continue;
    const v = incoming[name];
    if (v !== undefined) out[name] = v;
  }
  // The Connection header may name more hop-by-hop headers.
  const conn = incoming['connection'];
  if (conn) for (const n of conn.split(',')) delete out[n.trim().toLowerCase()];
  // `te: trailers` is the one TE a hop keeps (Envoy; RFC 9113 §8.2.2 for HTTP/2), even when
  // HTTP/1.1's Connection names it; gRPC servers expect it.
  if (typeof incoming['te'] === 'string' && incoming['te'].trim().toLowerCase() === 'trailers') out['te'] = 'trailers';
  const xff = incoming['x-forwarded-for'];
  out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(',') : xff}, ${peer}` : peer;
  out['x-forwarded-proto'] = scheme;
  out['x-envoy-external-address'] = peer;
  out['x-request-id'] = randomUUID();
  return out;
}

/**
 * Plain-text answer with Envoy's shape; never echoes request data or a stack. To a gRPC
 * request it is a trailers-only gRPC answer instead (Envoy's `sendLocalReply` for gRPC: HTTP
 * 200, `grpc-status` from the HTTP status as `Grpc::Utility::httpToGrpcStatus` maps it, the
 * text as `grpc-message`).
 */
export function localReply(res: ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (isGrpc(res.req?.headers['content-type'])) {
    trailersOnly(res, 200, { 'content-type': 'application/grpc', 'grpc-status': String(grpcStatusOf(status)), ...(body ? { 'grpc-message': encodeURIComponent(body) } : {}), server: 'istio-envoy', ...extra });
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), server: 'istio-envoy', ...extra });
  res.end(body);
}

/**
 * A response that is headers only, ended with them: on HTTP/2 one HEADERS frame with
 * END_STREAM, which is how gRPC's Trailers-Only answer must arrive (a client reads
 * `grpc-status` from the headers only then); HTTP/1.1 has no such distinction.
 */
function trailersOnly(res: ServerResponse, status: number, headers: Record<string, string | string[]>): void {
  const stream = (res as unknown as { stream?: { respond(h: Record<string, unknown>, o: { endStream: boolean }): void; destroyed: boolean } }).stream;
  if (stream && !stream.destroyed) {
    try {
      stream.respond({ ':status': status, ...headers }, { endStream: true });
    } catch {
      stream.destroyed || res.destroy();
    }
    return;
  }
  res.writeHead(status, headers);
  res.end();
}

/** `application/grpc`, `application/grpc+proto`, … (not grpc-web). */
export function isGrpc(contentType: string | string[] | undefined): boolean {
  return typeof contentType === 'string' && contentType.startsWith('application/grpc') && (contentType.length === 16 || contentType.charCodeAt(16) === 43 /* + */ || contentType.charCodeAt(16) === 59 /* ; */);
}

/** Envoy `Grpc::Utility::httpToGrpcStatus` (the gRPC HTTP mapping, doc/http-grpc-status-mapping.md). */
export function grpcStatusOf(http: number): number {
  switch (http) {
    case 400: return 13; // INTERNAL
    case 401: return 16; // UNAUTHENTICATED
    case 403: return 7; // PERMISSION_DENIED
    case 404: return 12; // UNIMPLEMENTED
    case 429: case 502: case 503: case 504: return 14; // UNAVAILABLE
    default: return 2; // UNKNOWN
  }
}

/** What the forwarder needs from its port. */
export interface ForwardTarget {
  scheme: 'http' | 'https';
  /** The route for this request (by SNI on HTTPS, the port's only route on plain text). */
  route(req: IncomingMessage): GatewayRoute | undefined;
}

/**
 * Handles one request: redirect, or dispatch upstream and stream the answer back.
 *
 * @example
 * ```ts
 * http.createServer((req, res) => forward(mesh.dispatcher, target, req, res));
 * ```
 */
export function forward(dispatcher: Dispatcher, target: ForwardTarget, req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? '';
  // Origin-form only: absolute-form (proxy requests) and `*` are not routed.
  if (path.length === 0 || path.charCodeAt(0) !== 47 /* / */) return localReply(res, 400, 'Bad Request');
  // HTTP/2 carries the host as `:authority` (a `host` header is allowed but not required).
  const host = hostOf((req.headers[':authority'] as string | undefined) ?? req.headers.host);
  if (host === undefined) return localReply(res, 400, 'Bad Request');
  const route = target.route(req);
  if (!route) return localReply(res, 404, '', {});
  if (target.scheme === 'http' && route.redirectHosts.some((p) => hostCovered(p, host))) {
    // Envoy's require_tls ALL: 301 to the same host and path over https.
    res.writeHead(301, { location: `https://${host}${path}`, server: 'istio-envoy', 'content-length': 0 });
    res.end();
    return;
  }
  const peer = req.socket.remoteAddress ?? '';
  const clientAddress = peer.startsWith('::ffff:') ? peer.slice(7) : peer;
  const headers = edgeHeaders(req.headers, clientAddress, target.scheme);
  if (target.scheme === 'https') {
    // The connection's own socket (node:http2's compatibility socket is a proxy per stream).
    const socket = ((req as unknown as { stream?: { session?: { socket?: TLSSocket } } }).stream?.session?.socket ?? req.socket) as TLSSocket;
    const xfcc = clientCertHeader(socket);
    if (xfcc !== undefined) headers['x-forwarded-client-cert'] = xfcc;
  }
  const h2 = (req as unknown as { stream?: { endAfterHeaders?: boolean } }).stream;
  const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : h2 !== undefined ? h2.endAfterHeaders === false : req.headers['transfer-encoding'] !== undefined;
  const opts = {
    origin: `http://${host}`,
    path,
    method: req.method ?? 'GET',
    headers,
    body: hasBody ? req : null,
    meshListener: route.listener,
    // The downstream client, not the gateway, is the source consistent hashing sees (Envoy's
    // connection source address; with use_remote_address and no trusted hops, the peer).
    meshSourceIp: clientAddress,
  } as Dispatcher.DispatchOptions;
  dispatcher.dispatch(opts, new ResponseWriter(req, res));
}

/** Streams an upstream answer into the downstream response, with backpressure both ways. */
class ResponseWriter implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private done = false;
  /** The downstream response is complete (a Trailers-Only answer): nothing more is written. */
  private ended = false;

  constructor(private readonly req: IncomingMessage, private readonly res: ServerResponse) {
    res.once('close', () => {
      if (!this.done) this.controller?.abort(new Error('downstream closed'));
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.res.destroyed) controller.abort(new Error('downstream closed'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx: Node answers 100-continue itself
    const out: Record<string, string | string[]> = {};
    for (const name of Object.keys(headers)) {
      const v = headers[name];
      if (v !== undefined && !RESPONSE_HOP.has(name)) out[name] = v;
    }
    // Envoy's server_header_transformation OVERWRITE, with Istio's server_name.
    out['server'] = 'istio-envoy';
    if (out['grpc-status'] !== undefined && this.res.req?.httpVersionMajor === 2) {
      // gRPC Trailers-Only: ends with its headers (whatever follows from upstream is empty).
      this.done = true;
      this.ended = true;
      trailersOnly(this.res, statusCode, out);
      return;
    }
    try {
      this.res.writeHead(statusCode, out);
    } catch {
      // A header Node refuses to send (invalid characters from upstream): a bad gateway, as Envoy answers.
      this.done = true;
      controller.abort(new Error('invalid upstream response header'));
      localReply(this.res, 502, 'upstream sent an invalid response');
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.ended) return;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (this.ended) return;
    this.done = true;
    // gRPC's status travels in trailers: HTTP/2 sends them as a trailing HEADERS frame, chunked
    // HTTP/1.1 as a trailer section (node drops them on a response with a Content-Length).
    let out: Record<string, string | string[]> | undefined;
    for (const name of Object.keys(trailers ?? {})) {
      const v = trailers[name];
      if (v === undefined || name.charCodeAt(0) === 58) continue;
      (out ??= {})[name] = v;
    }
    if (out) {
      try {
        this.res.addTrailers(out);
      } catch {
        // A trailer node refuses (invalid characters): the response ends without it.
      }
    }
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.done = true;
    if (this.res.destroyed || this.ended) return;
    log('upstream failed: %s', err.message);
    localReply(this.res, 503, UPSTREAM_FAILURE);
    // An unread request body would keep the connection busy: drop it.
    if (!this.req.complete) this.req.resume();
  }
}

/** The SNI name of a TLS request (lower case), if the client sent one. */
export function sniOf(req: IncomingMessage): string | undefined {
  const s = (req.socket as TLSSocket).servername;
  return typeof s === 'string' && s.length > 0 ? s.toLowerCase() : undefined;
}
