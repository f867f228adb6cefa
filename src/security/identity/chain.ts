import type { X509Certificate } from 'node:crypto';

/**
 * Verifies a certificate path with node:crypto (native, microseconds per certificate): each
 * certificate is valid at `now`, issued and signed by the next one, every issuer is a CA, and the
 * last one is a trusted root or is signed by one. Returns the anchoring root, or why not.
 * Name constraints and policies are not evaluated (meshlet's CA sets none).
 *
 * @example
 * ```ts
 * const root = verifyChain([leaf, intermediate], trustBundle, Date.now());
 * if (typeof root === 'string') throw new Error(root);
 * ```
 */
export function verifyChain(chain: readonly X509Certificate[], roots: readonly X509Certificate[], now: number): X509Certificate | string {
  if (chain.length === 0) return 'the chain is empty';
  if (chain.length > MAX_DEPTH) return `the chain has more than ${MAX_DEPTH} certificates`;
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    const problem = validityProblem(cert, now, i === 0 ? 'leaf' : `certificate ${i}`);
    if (problem) return problem;
    const issuer = chain[i + 1];
    if (issuer && !issuedBy(cert, issuer)) return `certificate ${i} is not issued and signed by certificate ${i + 1}`;
  }
  const last = chain[chain.length - 1]!;
  const self = roots.find((r) => r.fingerprint256 === last.fingerprint256);
  if (self) return self;
  for (const root of roots) {
    if (issuedBy(last, root)) return validityProblem(root, now, 'root') ?? root;
  }
  return 'the chain does not lead to a trusted root';
}

const MAX_DEPTH = 8;

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return issuer.ca && cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

function validityProblem(cert: X509Certificate, now: number, what: string): string | undefined {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (!(now >= from)) return `${what} is not valid before ${cert.validFrom}`;
  if (!(now <= to)) return `${what} expired at ${cert.validTo}`;
  return undefined;
}

/** `notBefore`/`notAfter` of a certificate as epoch ms. */
export function validity(cert: X509Certificate): { notBefore: number; notAfter: number } {
  return { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
}
