import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { meshError, type MeshError } from '../../errors.js';
import { parseSpiffeId } from '../identity/spiffe-id.js';

/**
 * Reading a peer's identity from its certificate: the SPIFFE ID is the one URI SAN (X509-SVID §2,
 * §5.2: more than one URI SAN is rejected, not resolved). Works on what node:tls gives
 * (`socket.getPeerCertificate()`, `getPeerX509Certificate()`) and on DER. Pure functions: the TLS
 * handshake has already verified the chain; these only decide who the peer is.
 */

/** Anything a peer certificate comes as. */
export type PeerCertificateLike = X509Certificate | PeerCertificate | Uint8Array | string;

/** The URI SANs of a certificate, in order. */
export function uriSans(cert: PeerCertificateLike): string[] {
  return sanEntries(sanText(cert) ?? '').filter((e) => e.type === 'URI').map((e) => e.value);
}

/**
 * Splits node's `subjectaltname` text (`DNS:a, URI:b, IP Address:c`). Since CVE-2021-44532 node
 * JSON-quotes a value that contains a separator, so entries are split only outside quotes — a DNS
 * name like `"x, URI:spiffe://…"` must not read as a second, forged URI SAN.
 */
export function sanEntries(text: string): Array<{ type: string; value: string }> {
  const out: Array<{ type: string; value: string }> = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon);
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      } catch {
        value = text.slice(colon + 1, j + 1);
      }
      next = text.indexOf(', ', j + 1);
    } else {
      next = text.indexOf(', ', colon + 1);
      value = text.slice(colon + 1, next < 0 ? text.length : next);
    }
    out.push({ type, value });
    if (next < 0) break;
    i = next + 2;
  }
  return out;
}

/**
 * The peer's SPIFFE ID, or why it has none: no certificate, no URI SAN, several URI SANs, or one
 * that is not a valid SPIFFE ID with a path.
 *
 * @example
 * ```ts
 * const id = peerSpiffeId(socket.getPeerX509Certificate());
 * if (typeof id !== 'string' || !id.startsWith('spiffe://')) …
 * ```
 */
export function peerSpiffeId(cert: PeerCertificateLike | undefined | null): { spiffeId: string } | { problem: string } {
  if (!cert || (isPeerCertificate(cert) && !cert.raw)) return { problem: 'the peer presented no certificate' };
  const uris = uriSans(cert);
  if (uris.length !== 1) return { problem: `the peer certificate has ${uris.length} URI SANs; an X.509-SVID has exactly one` };
  const parsed = parseSpiffeId(uris[0]!);
  if (typeof parsed === 'string') return { problem: `the peer's URI SAN is not a SPIFFE ID: ${parsed}` };
  if (parsed.path === '') return { problem: 'the peer SPIFFE ID has no path (a trust domain is not a workload)' };
  return { spiffeId: uris[0]! };
}

/** What a peer's SPIFFE ID is checked against: one ID, a set, or a predicate. */
export type SpiffeIdMatcher = string | readonly string[] | ((spiffeId: string) => boolean);

/**
 * Checks a peer certificate against the expected SPIFFE ID(s); `undefined` when it matches, else a
 * MESHLET_ERR_TLS_PEER error — the shape node's `checkServerIdentity` wants.
 *
 * @example
 * ```ts
 * tls.connect({ ...clientOptions, checkServerIdentity: (_host, cert) => checkPeerSpiffeId(cert, 'spiffe://cluster.local/ns/default/sa/reviews') });
 * ```
 */
export function checkPeerSpiffeId(cert: PeerCertificateLike | undefined | null, expected: SpiffeIdMatcher): MeshError | undefined {
  const id = peerSpiffeId(cert);
  if ('problem' in id) return meshError('MESHLET_ERR_TLS_PEER', id.problem);
  const ok = typeof expected === 'function' ? expected(id.spiffeId) : typeof expected === 'string' ? id.spiffeId === expected : expected.includes(id.spiffeId);
  if (ok) return undefined;
  const want = typeof expected === 'function' ? 'the expected identity' : typeof expected === 'string' ? expected : expected.join(' or ');
  return meshError('MESHLET_ERR_TLS_PEER', `the peer is ${id.spiffeId}, not ${want}`, { detail: { peer: id.spiffeId } });
}

function isPeerCertificate(cert: PeerCertificateLike): cert is PeerCertificate {
  return typeof cert === 'object' && !(cert instanceof X509Certificate) && !(cert instanceof Uint8Array);
}

function sanText(cert: PeerCertificateLike): string | undefined {
  if (cert instanceof X509Certificate) return cert.subjectAltName;
  if (cert instanceof Uint8Array || typeof cert === 'string') return new X509Certificate(cert).subjectAltName;
  return cert.subjectaltname;
}

const verifiedIds = new WeakMap<object, string | null>();

/**
 * The SPIFFE ID of a connection's client certificate, only when the TLS handshake verified it
 * against the trust bundle (`socket.authorized`); undefined for plaintext, unverified or
 * non-SVID certificates. Computed once per connection. The one source of `peer.principal`.
 *
 * @example
 * ```ts
 * const principal = verifiedPeerId(req.socket); // 'spiffe://cluster.local/ns/default/sa/productpage'
 * ```
 */
export function verifiedPeerId(socket: object | null | undefined): string | undefined {
  const s = socket as { encrypted?: boolean; authorized?: boolean; getPeerCertificate?: () => PeerCertificate } | null | undefined;
  if (!s || !s.encrypted || s.authorized !== true || typeof s.getPeerCertificate !== 'function') return undefined;
  let id = verifiedIds.get(s);
  if (id === undefined) {
    const found = peerSpiffeId(s.getPeerCertificate());
    id = 'spiffeId' in found ? found.spiffeId : null;
    verifiedIds.set(s, id);
  }
  return id ?? undefined;
}
