import { X509Certificate } from 'node:crypto';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { meshError } from '../../errors.js';
import { verifyChain } from '../identity/chain.js';

/** What {@link fetchPinnedRoot} connects to and pins. */
export interface PinnedRootOptions {
  host: string;
  port: number;
  /** SHA-256 of the expected root certificate (64 hex digits). */
  fingerprint: string;
  /** Name the server certificate must carry (SNI and the hostname check). */
  serverName: string;
  /** Default 10 s. */
  timeoutMs?: number;
}

/**
 * Bootstraps trust in a TLS server from a root fingerprint alone: one handshake without CA
 * verification, then the presented chain must contain a certificate with that fingerprint, lead
 * to it with valid signatures, and name `serverName`; only then is that certificate returned (as
 * the trust anchor for real, verified connections). kubeadm's discovery token CA pin follows the
 * same idea. Nothing is sent on the connection.
 *
 * @example
 * ```ts
 * const root = await fetchPinnedRoot({ host: '127.0.0.1', port: 15012, fingerprint, serverName: 'istiod.istio-system.svc' });
 * grpc.credentials.createSsl(Buffer.from(root.toString()));
 * ```
 */
export function fetchPinnedRoot(options: PinnedRootOptions): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: options.host, port: options.port, servername: options.serverName, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(options.timeoutMs ?? 10_000, () => fail(meshError('MESHLET_ERR_CONTROL_UNREACHABLE', `TLS handshake with ${options.host}:${options.port} timed out`)));
    socket.once('error', (err) => fail(meshError('MESHLET_ERR_CONTROL_UNREACHABLE', `cannot reach ${options.host}:${options.port}: ${err.message}`, { cause: err })));
    socket.once('secureConnect', () => {
      const chain = presentedChain(socket.getPeerCertificate(true));
      socket.end();
      const result = pin(chain, options);
      if (typeof result === 'string') reject(meshError('MESHLET_ERR_TLS_PEER', `${options.host}:${options.port}: ${result}`));
      else resolve(result);
    });
  });
}

/** Checks a presented chain against the pin; returns the pinned root or why it does not match. */
export function pin(chain: readonly X509Certificate[], options: { fingerprint: string; serverName: string }, now = Date.now()): X509Certificate | string {
  const want = options.fingerprint.toLowerCase();
  const index = chain.findIndex((c) => c.fingerprint256.replace(/:/g, '').toLowerCase() === want);
  if (index < 0) return 'the server did not present the root certificate the join token pins (was the CA directory replaced?)';
  if (index === 0) return 'the server certificate itself is the pinned root';
  const root = chain[index]!;
  const anchored = verifyChain(chain.slice(0, index), [root], now);
  if (typeof anchored === 'string') return `the server chain does not verify against the pinned root: ${anchored}`;
  if (chain[0]!.checkHost(options.serverName) === undefined) return `the server certificate is not for ${options.serverName}`;
  return root;
}

function presentedChain(leaf: DetailedPeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  for (let c: DetailedPeerCertificate | undefined = leaf; c?.raw && !seen.has(c.fingerprint256) && out.length < 10; c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    out.push(new X509Certificate(c.raw));
  }
  return out;
}
