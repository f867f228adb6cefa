/**
 * TLS termination for HTTPS servers: one secure context per route (Envoy's filter chain with its
 * DownstreamTlsContext), chosen by SNI. Certificates come from files (`serverCertificate`,
 * `privateKey`, `caCertificates`) or from `credentialName`, resolved as Istio's gateway SDS does
 * for a Kubernetes secret, here a directory: `<credentials>/<name>/{tls.crt,tls.key,ca.crt}`
 * (the CA may also sit in `<name>-cacert/ca.crt`, Istio's separate-secret form).
 *
 * OpenSSL fixes the protocol version range before the SNI callback switches contexts, so the
 * server context carries the loosest range of the port and each connection is checked against
 * its own route's `minProtocolVersion`/`maxProtocolVersion` once the handshake is done. Whether a
 * client certificate is asked for is set per connection in the SNI callback, from the route the
 * name picks (Envoy: one filter chain per SNI set, each with its own
 * `require_client_certificate`), so a SIMPLE server beside a MUTUAL one on the same port does not
 * prompt its clients for a certificate. `ISTIO_MUTUAL` serves the gateway's own SVID and takes
 * clients of the mesh trust bundle with a SPIFFE ID.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext, type SecureContext, type SecureVersion, type TLSSocket } from 'node:tls';
import { checkSubjectAltNames } from '../security/tls/connector.js';
import type { MeshTls } from '../security/tls/mesh-tls.js';
import { sanEntries, uriSans, verifiedPeerId } from '../security/tls/peer.js';
import type { GatewayRoute, ServerTls, TlsVersion } from './config.js';

const VERSION: Record<TlsVersion, SecureVersion | undefined> = {
  TLS_AUTO: undefined,
  TLSV1_0: 'TLSv1',
  TLSV1_1: 'TLSv1.1',
  TLSV1_2: 'TLSv1.2',
  TLSV1_3: 'TLSv1.3',
};
const ORDER: SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
/** Envoy's downstream default range: TLS 1.2 to 1.3. */
const DEFAULT_MIN: SecureVersion = 'TLSv1.2';
const DEFAULT_MAX: SecureVersion = 'TLSv1.3';
/** A certificate file larger than this is refused (a PEM chain is a few KiB). */
const MAX_PEM = 1 << 20;

/** A route's terminated TLS: its context and what each connection must satisfy. */
export interface RouteTls {
  context: SecureContext;
  /** What `context` was made from: the server's default context when no SNI is sent. */
  options: { cert: Buffer; key: Buffer; ca?: Buffer; minVersion: SecureVersion; maxVersion: SecureVersion; ciphers?: string };
  min: SecureVersion;
  max: SecureVersion;
  /** MUTUAL: a verified client certificate is required. */
  requireClientCert: boolean;
  /** MUTUAL, OPTIONAL_MUTUAL or ISTIO_MUTUAL: a client certificate is asked for. */
  requestClientCert: boolean;
  /** ISTIO_MUTUAL: the client must also be a mesh workload (a certificate with a SPIFFE ID). */
  requireSpiffeId: boolean;
  /** The server's `subjectAltNames`: a verified client certificate must carry one of them. */
  clientSans: readonly string[];
}

async function readPem(path: string): Promise<Buffer> {
  const b = await readFile(path);
  if (b.length > MAX_PEM) throw new Error(`${path}: larger than ${MAX_PEM} bytes`);
  return b;
}

/** Where a server's certificate, key and CA come from. */
export function tlsFiles(tls: ServerTls, credentials: string | undefined): { cert: string; key: string; ca?: string | string[] } {
  if (tls.credentialName) {
    if (!credentials) throw new Error(`credentialName ${tls.credentialName} needs a credentials directory (--credentials DIR)`);
    // A name is one path segment: never a way out of the directory.
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(tls.credentialName) || tls.credentialName.includes('..')) throw new Error(`credentialName ${JSON.stringify(tls.credentialName)} is not a valid secret name`);
    const dir = join(credentials, tls.credentialName);
    return { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), ca: [join(dir, 'ca.crt'), join(credentials, `${tls.credentialName}-cacert`, 'ca.crt')] };
  }
  const out: { cert: string; key: string; ca?: string } = { cert: tls.serverCertificate ?? '', key: tls.privateKey ?? '' };
  if (tls.caCertificates) out.ca = tls.caCertificates;
  return out;
}

async function readCa(ca: string | string[] | undefined): Promise<Buffer | undefined> {
  if (ca === undefined) return undefined;
  for (const path of Array.isArray(ca) ? ca : [ca]) {
    try {
      return await readPem(path);
    } catch (err) {
      if (!Array.isArray(ca)) throw err;
    }
  }
  return undefined;
}

/**
 * Loads one route's TLS (reads its files; throws with the path on a missing or bad file).
 *
 * @example
 * ```ts
 * const t = await loadRouteTls({ mode: 'SIMPLE', serverCertificate: 'cert.pem', privateKey: 'key.pem' }, undefined);
 * ```
 */
export async function loadRouteTls(tls: ServerTls, credentials: string | undefined, mesh?: MeshTls): Promise<RouteTls> {
  if (tls.mode === 'ISTIO_MUTUAL') return istioMutual(tls, mesh);
  const files = tlsFiles(tls, credentials);
  const [cert, key, ca] = await Promise.all([readPem(files.cert), readPem(files.key), readCa(files.ca)]);
  const mutual = tls.mode !== 'SIMPLE';
  if (mutual && !ca) throw new Error(`${tls.mode} TLS needs CA certificates (caCertificates, or ca.crt beside the credential)`);
  const min = VERSION[tls.minProtocolVersion ?? 'TLS_AUTO'] ?? DEFAULT_MIN;
  const max = VERSION[tls.maxProtocolVersion ?? 'TLS_AUTO'] ?? DEFAULT_MAX;
  const options = {
    cert,
    key,
    ...(ca && mutual ? { ca } : {}),
    minVersion: min,
    maxVersion: max,
    ...(tls.cipherSuites?.length ? { ciphers: tls.cipherSuites.join(':') } : {}),
  };
  return { context: createSecureContext(options), options, min, max, requireClientCert: tls.mode === 'MUTUAL', requestClientCert: mutual, requireSpiffeId: false, clientSans: tls.subjectAltNames ?? [] };
}

/**
 * ISTIO_MUTUAL (Istio `BuildListenerTLSContext`: the proxy's own SDS certificate and the mesh
 * root as validation context, `require_client_certificate`, the server's `subjectAltNames` as
 * SAN matchers; version and cipher settings are the mesh defaults, not the server's).
 */
function istioMutual(tls: ServerTls, mesh: MeshTls | undefined): RouteTls {
  const svid = mesh?.current();
  if (!svid) throw new Error(`ISTIO_MUTUAL needs the gateway's own mesh identity (start the gateway with a join token)${mesh ? '; none has arrived yet' : ''}`);
  const options = {
    cert: Buffer.from(svid.chainPem.join('')),
    key: Buffer.from(svid.keyPem),
    ca: Buffer.from(svid.trustBundlePem.join('')),
    minVersion: DEFAULT_MIN,
    maxVersion: DEFAULT_MAX,
  };
  return { context: createSecureContext(options), options, min: DEFAULT_MIN, max: DEFAULT_MAX, requireClientCert: true, requestClientCert: true, requireSpiffeId: true, clientSans: tls.subjectAltNames ?? [] };
}

/** The loosest version range over a port's routes (what the server context must allow). */
export function portRange(routes: ReadonlyArray<RouteTls>): { minVersion: SecureVersion; maxVersion: SecureVersion } {
  let min = DEFAULT_MAX;
  let max = DEFAULT_MIN;
  for (const r of routes) {
    if (ORDER.indexOf(r.min) < ORDER.indexOf(min)) min = r.min;
    if (ORDER.indexOf(r.max) > ORDER.indexOf(max)) max = r.max;
  }
  return { minVersion: min, maxVersion: max };
}

const PROTOCOL_RANK: Record<string, number> = { TLSv1: 0, 'TLSv1.1': 1, 'TLSv1.2': 2, 'TLSv1.3': 3 };

/** Why a finished handshake breaks its route's policy (version range, client certificate), or undefined. */
export function handshakeProblem(socket: TLSSocket, t: RouteTls): string | undefined {
  const v = PROTOCOL_RANK[socket.getProtocol() ?? ''] ?? -1;
  if (v < ORDER.indexOf(t.min) || v > ORDER.indexOf(t.max)) return `protocol ${socket.getProtocol()} outside ${t.min}–${t.max}`;
  if (t.requireClientCert && !socket.authorized) return `client certificate required (${socket.authorizationError ?? 'none presented'})`;
  if (t.requireSpiffeId && verifiedPeerId(socket) === undefined) return 'the client certificate carries no SPIFFE ID (ISTIO_MUTUAL takes mesh workloads only)';
  if (t.clientSans.length > 0 && socket.authorized) {
    const bad = checkSubjectAltNames(socket.getPeerCertificate(), t.clientSans);
    if (bad) return `client certificate: ${bad.message}`;
  }
  return undefined;
}

/** Routes with their loaded TLS; a route whose files fail is left out (its error in `problems`). */
export async function loadPortTls(routes: readonly GatewayRoute[], credentials: string | undefined, problems: string[], mesh?: MeshTls): Promise<Map<GatewayRoute, RouteTls>> {
  const out = new Map<GatewayRoute, RouteTls>();
  await Promise.all(routes.map(async (r) => {
    if (!r.tls) return;
    try {
      out.set(r, await loadRouteTls(r.tls, credentials, mesh));
    } catch (err) {
      problems.push(`${r.route}: ${(err as Error).message}`);
    }
  }));
  return out;
}

const xfccs = new WeakMap<object, string | null>();

/**
 * The `x-forwarded-client-cert` value for a connection whose client certificate the handshake
 * verified, as Istio's gateway has Envoy set it (`forward_client_cert_details: SANITIZE_SET`,
 * `set_current_client_cert_details` subject, cert, DNS, URI): `By=<the gateway certificate's URI
 * SAN>;Hash=<SHA-256 of the client certificate>;Cert="<URL-encoded PEM>";Subject="…";URI=…;DNS=…`.
 * Undefined without a verified client certificate. Computed once per connection.
 *
 * @example
 * ```ts
 * clientCertHeader(tlsSocket); // 'By=spiffe://cluster.local/ns/istio-system/sa/gw;Hash=…;URI=spiffe://cluster.local/ns/default/sa/web'
 * ```
 */
export function clientCertHeader(socket: TLSSocket): string | undefined {
  if (!socket.authorized || typeof socket.getPeerX509Certificate !== 'function') return undefined;
  let v = xfccs.get(socket);
  if (v === undefined) {
    v = null;
    const peer = socket.getPeerX509Certificate();
    if (peer) {
      const parts: string[] = [];
      const local = socket.getX509Certificate?.();
      const by = local ? uriSans(local)[0] : undefined;
      if (by) parts.push(`By=${by}`);
      parts.push(`Hash=${createHash('sha256').update(peer.raw).digest('hex')}`);
      parts.push(`Cert="${encodeURIComponent(peer.toString())}"`);
      // RFC 2253 order (most specific last in the certificate, first here), as Envoy prints it.
      parts.push(`Subject="${(peer.subject ?? '').split('\n').filter((l) => l.length > 0).reverse().join(',').replace(/["\\]/g, (c) => `\\${c}`)}"`);
      for (const e of sanEntries(peer.subjectAltName ?? '')) {
        if (e.type === 'URI') parts.push(`URI=${e.value}`);
        else if (e.type === 'DNS') parts.push(`DNS=${e.value}`);
      }
      v = parts.join(';');
    }
    xfccs.set(socket, v);
  }
  return v ?? undefined;
}
