/**
 * The gRPC side of the inbound request view: a server call's connection (peer, verified
 * certificate, local port) and metadata read into the protocol-neutral
 * {@link InboundRequestView}, the same shape the HTTP pipeline builds, so one policy serves both.
 */
import type { Metadata, ServerInterceptingCallInterface } from '@grpc/grpc-js';
import { requestHeader, type InboundPeerView, type InboundRequestView } from '../core/inbound.js';
import { plainAddress } from '../http/inbound-view.js';
import { peerSpiffeId } from '../security/tls/peer.js';

type CallInfo = Pick<ServerInterceptingCallInterface, 'getPeer'> & Partial<Pick<ServerInterceptingCallInterface, 'getHost' | 'getAuthContext' | 'getConnectionInfo'>>;

function peerOf(call: CallInfo, info: ReturnType<NonNullable<CallInfo['getConnectionInfo']>> | undefined): { peer: InboundPeerView; tls: boolean } {
  let address = plainAddress(info?.remoteAddress);
  let port = info?.remotePort ?? 0;
  if (!address) {
    // Older grpc-js: only the peer string, `ip:port` or `[ip6]:port`.
    const peer = call.getPeer();
    const colon = peer.lastIndexOf(':');
    address = plainAddress(peer.slice(0, colon < 0 ? peer.length : colon).replace(/^\[|\]$/g, ''));
    port = colon < 0 ? 0 : Number(peer.slice(colon + 1)) || 0;
  }
  const auth = call.getAuthContext?.();
  const tls = auth?.transportSecurityType === 'ssl';
  // grpc-js hands a peer certificate only when the handshake verified it against the server's CA.
  const cert = tls ? auth?.sslPeerCertificate : undefined;
  const id = cert && Object.keys(cert).length > 0 ? peerSpiffeId(cert) : undefined;
  return { peer: id && 'spiffeId' in id ? { address, port, principal: id.spiffeId } : { address, port }, tls };
}

/**
 * The view of a server call once its metadata arrived.
 *
 * @example
 * ```ts
 * const view = grpcView(call, '/helloworld.Greeter/SayHello', metadata, (p) => p);
 * ```
 */
export function grpcView(call: CallInfo, method: string, metadata: Metadata, servicePort: (local: number) => number): InboundRequestView {
  const info = call.getConnectionInfo?.();
  const { peer, tls } = peerOf(call, info);
  const host = call.getHost?.() ?? '';
  const view: InboundRequestView = {
    protocol: 'grpc',
    peer,
    tls,
    localPort: servicePort(info?.localPort ?? 0),
    localAddress: plainAddress(info?.localAddress),
    host: host.endsWith('.') ? host.slice(0, -1) : host,
    method: 'POST',
    path: method,
    query: '',
    header(name: string): string | undefined {
      if (name.charCodeAt(0) === 0x3a) return requestHeader(view, name);
      if (name === 'host') return host || undefined;
      if (name === 'content-type') return 'application/grpc';
      const values = metadata.get(name);
      if (values.length === 0) return undefined;
      return values.map((v) => (typeof v === 'string' ? v : v.toString('base64'))).join(',');
    },
  };
  return view;
}
