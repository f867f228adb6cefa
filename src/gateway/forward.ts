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
    if (HOP_BY_HOP.has(name) || name.startsWith('x-envoy-') || name === 'x-forwarded-client-cert' || name === 'x-request-id') continue;
    const v = incoming[name];
    if (v !== undefined) out[name] = v;
  }
  // The Connection header may name more hop-by-hop headers.
  const conn = incoming['connection'];
  if (conn) for (const n of conn.split(',')) delete out[n.trim().toLowerCase()];
  const xff = incoming['x-forwarded-for'];
  out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(',') : xff}, ${peer}` : peer;
  out['x-forwarded-proto'] = scheme;
  out['x-envoy-external-address'] = peer;
  out['x-request-id'] = randomUUID();
  return out;
}

/** Plain-text answer with Envoy's shape; never echoes request data or a stack. */
export function localReply(res: ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), server: 'istio-envoy', ...extra });
  res.end(body);
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
  const host = hostOf(req.headers.host);
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
  const headers = edgeHeaders(req.headers, peer.startsWith('::ffff:') ? peer.slice(7) : peer, target.scheme);
  const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
  const opts = {
    origin: `http://${host}`,
    path,
    method: req.method ?? 'GET',
    headers,
    body: hasBody ? req : null,
    meshListener: route.listener,
  } as Dispatcher.DispatchOptions;
  dispatcher.dispatch(opts, new ResponseWriter(req, res));
}

/** Streams an upstream answer into the downstream response, with backpressure both ways. */
class ResponseWriter implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private done = false;

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
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.done = true;
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.done = true;
    if (this.res.destroyed) return;
    void err;
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
