/**
 * The HTTP side of the inbound request view: reads an IncomingMessage once into the
 * protocol-neutral {@link InboundRequestView} the inbound policy evaluates, normalizing the path
 * first and writing it back to `req.url`, so the policy and the app's router read one path (as
 * Envoy forwards the path its RBAC filter matched).
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { requestHeader, type InboundPeerView, type InboundRequestView, type InboundVerdict } from '../core/inbound.js';
import { normalizeTarget } from '../core/path.js';
import { verifiedPeerId } from '../security/tls/peer.js';

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as the IPv4 address policies are written in. */
export function plainAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** The caller: address and, only from a client certificate TLS verified, its SPIFFE ID. */
export function httpPeer(req: IncomingMessage): { peer: InboundPeerView; tls: boolean; sni?: string } {
  const socket = req.socket as Partial<TLSSocket> | undefined;
  const address = plainAddress(socket?.remoteAddress);
  const port = socket?.remotePort ?? 0;
  if (!socket?.encrypted) return { peer: { address, port }, tls: false };
  const sni = typeof socket.servername === 'string' && socket.servername ? socket.servername : undefined;
  const principal = verifiedPeerId(socket);
  return { peer: principal === undefined ? { address, port } : { address, port, principal }, tls: true, ...(sni ? { sni } : {}) };
}

const BAD_REQUEST: InboundVerdict = { status: 400, body: 'Bad Request' };

/**
 * Builds the view of `req`, or the 400 Envoy would answer: a path that does not normalize (NUL,
 * a bad %-escape) or two Host headers. On success `req.url` holds the normalized target.
 *
 * @example
 * ```ts
 * const v = httpView(req, 9080);
 * if ('status' in v) return refuse(v);
 * ```
 */
export function httpView(req: IncomingMessage, localPort: number): InboundRequestView | InboundVerdict {
  const target = normalizeTarget(req.url ?? '/');
  if (target === undefined) return BAD_REQUEST;
  if (hostCount(req.rawHeaders) > 1) return BAD_REQUEST;
  const url = target.query ? `${target.path}?${target.query}` : target.path;
  if (url !== req.url) req.url = url;
  const { peer, tls, sni } = httpPeer(req);
  const headers = req.headers;
  const host = (headers.host ?? headers[':authority'] ?? '') as string;
  const view: InboundRequestView = {
    protocol: 'http',
    peer,
    tls,
    ...(sni ? { sni } : {}),
    localPort,
    localAddress: plainAddress(req.socket?.localAddress),
    host: host.endsWith('.') ? host.slice(0, -1) : host,
    method: req.method ?? 'GET',
    path: target.path,
    query: target.query,
    header(name: string): string | undefined {
      if (name.charCodeAt(0) === 0x3a) return requestHeader(view, name);
      const v = headers[name];
      return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : v;
    },
  };
  return view;
}

function hostCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') n++;
  }
  return n;
}

