import { checkServerIdentity, connect as tlsConnect, rootCertificates, createSecureContext, type PeerCertificate, type SecureContext } from 'node:tls';
import { buildConnector } from 'undici';
import { meshError } from '../../errors.js';
import type { TlsTransportModel } from '../../core/model/transport.js';
import { checkPeerSpiffeId } from './peer.js';
import type { MeshTls } from './mesh-tls.js';
import { fileSecureContext, loadTlsFiles } from './tls-files.js';

/** Default connect timeout (undici's). */
const CONNECT_TIMEOUT_MS = 10_000;

let systemContext: SecureContext | undefined;

/**
 * Checks a server certificate against a cluster's `match_subject_alt_names` (Envoy's SAN
 * matcher): a `spiffe://` entry must equal the certificate's one URI SAN, any other entry is a
 * DNS name checked as node's host name check does. No entries: any certificate the trust accepts.
 *
 * @example
 * ```ts
 * checkSubjectAltNames(cert, ['spiffe://cluster.local/ns/default/sa/reviews']); // undefined when it matches
 * ```
 */
export function checkSubjectAltNames(cert: PeerCertificate, names: readonly string[]): Error | undefined {
  if (names.length === 0) return undefined;
  const spiffe = names.filter((n) => n.startsWith('spiffe://'));
  if (spiffe.length > 0 && checkPeerSpiffeId(cert, spiffe) === undefined) return undefined;
  for (const n of names) if (!n.startsWith('spiffe://') && checkServerIdentity(n, cert) === undefined) return undefined;
  return meshError('MESHLET_ERR_TLS_PEER', `the server certificate matches none of the expected names (${names.slice(0, 4).join(', ')}${names.length > 4 ? ', …' : ''})`);
}

/**
 * The mesh's undici connector (`connect` of its Agent). Plain `http:` origins connect as undici
 * would; `https:` origins are mesh TLS: the per-cluster transport the dispatcher registered
 * under the request's server name (`transportFor`) says whether to present the SVID, what the
 * server must chain to (the mesh roots, or the system CAs for SIMPLE) and which SANs it must
 * carry. Client sessions are resumed per server name and address until the trust bundle changes.
 *
 * @example
 * ```ts
 * const agent = new Agent({ connect: meshConnector(meshTls, (name) => transports.get(name)) });
 * ```
 */
export function meshConnector(tls: MeshTls | undefined, transportFor: (key: string) => TlsTransportModel | undefined, options: { http2?: boolean } = {}): buildConnector.connector {
  // HTTP/2 clusters: h2c with prior knowledge in plain text, ALPN h2 (HTTP/1.1 as fallback) over TLS.
  const http2 = options.http2 === true;
  const plain = buildConnector({ timeout: CONNECT_TIMEOUT_MS, ...(http2 ? { useH2c: true, allowH2: true } : {}) } as buildConnector.BuildOptions);
  const alpn = http2 ? ['h2', 'http/1.1'] : ['http/1.1'];
  return (opts, callback) => {
    if (opts.protocol !== 'https:') return plain(opts, callback);
    const key = transportKey(opts.servername, opts.hostname, Number(opts.port));
    const transport = transportFor(key);
    if (!transport) return plain(opts, callback);
    if (transport.files) {
      // DestinationRule SIMPLE/MUTUAL files: read (bounded, checked) once per transport model.
      filesContext(transport).then((ctx) => dial(ctx, transport, key, opts, callback), (err: Error) => callback(err, null));
      return;
    }
    let secureContext: SecureContext | undefined;
    if (transport.identity || transport.trust === 'mesh') {
      secureContext = tls?.clientContext();
      if (!secureContext) {
        callback(meshError('MESHLET_ERR_TLS_PEER', `mTLS to ${opts.hostname}:${opts.port} needs this mesh's identity, and it has none${tls ? ' yet' : ' (createMesh without a join token)'}`), null);
        return;
      }
    } else secureContext = systemContext ??= createSecureContext({ ca: [...rootCertificates] });
    dial(secureContext, transport, key, opts, callback);
  };

  function dial(secureContext: SecureContext, transport: TlsTransportModel, key: string, opts: buildConnector.Options, callback: buildConnector.Callback): void {
    // Sessions are per secure context's trust: a file-based transport keeps none in the mesh cache.
    const sessionKey = transport.files ? undefined : `${key}|${opts.hostname}:${opts.port}`;
    const hostname = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname;
    let settled = false;
    const socket = tlsConnect({
      host: hostname,
      port: Number(opts.port),
      secureContext,
      ...(transport.sni ? { servername: transport.sni } : {}),
      ALPNProtocols: alpn,
      session: sessionKey ? tls?.session(sessionKey) : undefined,
      rejectUnauthorized: true,
      checkServerIdentity: (host, cert) => verifyServer(transport, host, cert),
    });
    if (tls) tls.handshakes++;
    socket.setNoDelay(true);
    if (sessionKey) socket.on('session', (session: Buffer) => tls?.keepSession(sessionKey, session));
    const timer = setTimeout(() => fail(meshError('MESHLET_ERR_TLS_PEER', `TLS handshake with ${opts.hostname}:${opts.port} timed out`)), CONNECT_TIMEOUT_MS);
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      callback(err, null);
    };
    socket.once('secureConnect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('error', fail);
      callback(null, socket);
    });
    socket.once('error', fail);
  }
}

const fileContexts = new WeakMap<TlsTransportModel, Promise<SecureContext>>();

/**
 * The secure context of a file-based transport, read once per transport model (a config push
 * brings a new model, so edited files are read again then). A failed read is not cached.
 */
function filesContext(transport: TlsTransportModel): Promise<SecureContext> {
  let p = fileContexts.get(transport);
  if (!p) {
    p = loadTlsFiles(transport.files!).then(fileSecureContext);
    p.catch(() => fileContexts.delete(transport));
    fileContexts.set(transport, p);
  }
  return p;
}

/**
 * The server check of a TLS transport: its SANs when it names any; otherwise, for TLS to the
 * system CAs (SIMPLE), the server name itself (Istio's VERIFY_CERTIFICATE_AT_CLIENT: auto SAN
 * validation), so a certificate a public CA issued for some other name is not enough. Mesh
 * mTLS without SANs accepts any workload of the trust bundle (Envoy with no SAN matcher).
 */
export function verifyServer(transport: TlsTransportModel, host: string, cert: PeerCertificate): Error | undefined {
  if (transport.subjectAltNames.length > 0 || transport.trust === 'mesh') return checkSubjectAltNames(cert, transport.subjectAltNames);
  return checkServerIdentity(transport.sni || host, cert);
}

/** The key a TLS transport is registered under: its SNI, else the endpoint address. */
export function transportKey(sni: string | undefined | null, host: string, port: number): string {
  return sni ? sni : `${host}:${port}`;
}
