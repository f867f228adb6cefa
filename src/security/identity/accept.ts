import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { meshError } from '../../errors.js';
import { validity, verifyChain } from './chain.js';
import { splitCertificates } from './pem.js';
import { lintSvid } from './svid-lint.js';

/** What the client checks a CA answer against. */
export interface AcceptOptions {
  /** The SPIFFE ID the join token grants. */
  spiffeId: string;
  /** Roots trusted before this answer (at bootstrap: the root the token pins). */
  anchors: readonly string[];
  /** The private key the CSR was made with. */
  keyPem: string;
  /** Wall-clock time for validity checks. */
  now: number;
}

/** An accepted answer. */
export interface AcceptedChain {
  chainPem: string[];
  trustBundlePem: string[];
  notBefore: number;
  notAfter: number;
  serialNumber: string;
}

/**
 * Checks Istio's `cert_chain` (leaf, intermediates…, root bundle last) before the client uses it:
 * the leaf is an X.509-SVID for exactly the granted SPIFFE ID and for our key, and the path
 * leads to a root the client already trusts. The new bundle must contain that root, so a CA can
 * add roots (a trust rotation) but not swap the anchor under a client. Any failure is
 * MESHLET_ERR_IDENTITY and the answer is dropped.
 *
 * @example
 * ```ts
 * const accepted = acceptChain(chain, { spiffeId, anchors: [pinnedRootPem], keyPem, now: Date.now() });
 * ```
 */
export function acceptChain(response: readonly string[], options: AcceptOptions): AcceptedChain {
  const bad = (why: string) => meshError('MESHLET_ERR_IDENTITY', `CA answer rejected: ${why}`);
  if (response.length < 2) throw bad(`expected the leaf and the root bundle, got ${response.length} element(s)`);
  let leafPem: string[];
  let intermediates: string[];
  let roots: string[];
  try {
    leafPem = splitCertificates(response[0]!);
    intermediates = response.slice(1, -1).flatMap(splitCertificates);
    roots = splitCertificates(response[response.length - 1]!);
  } catch (err) {
    throw bad((err as Error).message);
  }
  if (leafPem.length !== 1) throw bad('the first element must be exactly one certificate');
  if (roots.length === 0) throw bad('the root bundle is empty');
  const lint = lintSvid(leafPem[0]!, { spiffeId: options.spiffeId });
  if (lint.problems.length) throw bad(`the leaf is not an X.509-SVID for ${options.spiffeId}: ${lint.problems.join('; ')}`);
  const leaf = new X509Certificate(leafPem[0]!);
  const ours = createPublicKey(createPrivateKey(options.keyPem)).export({ type: 'spki', format: 'der' });
  if (!leaf.publicKey.export({ type: 'spki', format: 'der' }).equals(ours)) throw bad('the leaf is not for the key this client generated');
  const anchors = options.anchors.map((p) => new X509Certificate(p));
  const anchor = verifyChain([leaf, ...intermediates.map((p) => new X509Certificate(p))], anchors, options.now);
  if (typeof anchor === 'string') throw bad(anchor);
  const bundle = roots.map((p) => new X509Certificate(p));
  if (!bundle.some((r) => r.fingerprint256 === anchor.fingerprint256)) throw bad('the new trust bundle drops the root this chain is anchored to');
  return { chainPem: [leafPem[0]!, ...intermediates], trustBundlePem: roots, ...validity(leaf), serialNumber: leaf.serialNumber };
}
