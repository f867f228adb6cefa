import { crypto, x509 } from '../x509.js';
import { parseSpiffeId } from './spiffe-id.js';

/**
 * Checks a leaf certificate against the SPIFFE X.509-SVID standard (spiffe/spiffe
 * `standards/X509-SVID.md` §2, §4, §5.2) and meshlet's issuing profile:
 *
 * - exactly one URI SAN, a valid SPIFFE ID with a non-root path (§2, §5.2);
 * - basic constraints present with `cA=false` (§4.1);
 * - key usage present and critical, `digitalSignature` set, no `keyCertSign`/`cRLSign` (§4.3);
 *   `keyEncipherment` only on RSA keys (RFC 5480 §3 does not allow it for EC keys);
 * - extended key usage present with `serverAuth` and `clientAuth` (§4.4);
 * - an empty subject makes the SAN extension critical (RFC 5280 §4.2.1.6);
 * - optionally the expected trust domain or SPIFFE ID.
 */

/** What {@link lintSvid} checks the SPIFFE ID against. */
export interface SvidLintOptions {
  trustDomain?: string;
  spiffeId?: string;
}

/** The outcome of {@link lintSvid}: the SPIFFE ID when there is exactly one, and every problem. */
export interface SvidLintResult {
  spiffeId?: string;
  problems: string[];
}

const OID = { san: '2.5.29.17', basicConstraints: '2.5.29.19', keyUsage: '2.5.29.15', eku: '2.5.29.37' } as const;

/**
 * Lints one leaf certificate (PEM or DER). `problems` is empty for a valid X.509-SVID.
 *
 * @example
 * ```ts
 * const { spiffeId, problems } = lintSvid(leafPem, { trustDomain: 'cluster.local' });
 * if (problems.length) throw new Error(problems.join('; '));
 * ```
 */
export function lintSvid(cert: string | Uint8Array, options: SvidLintOptions = {}): SvidLintResult {
  let c: x509.X509Certificate;
  try {
    c = new x509.X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
  } catch (err) {
    return { problems: [`not an X.509 certificate: ${(err as Error).message}`] };
  }
  const problems: string[] = [];
  const ext = (oid: string) => c.extensions.filter((e) => e.type === oid);
  const one = <T extends x509.Extension>(oid: string, name: string): T | undefined => {
    const found = ext(oid);
    if (found.length > 1) problems.push(`${name} extension appears ${found.length} times`);
    return found[0] as T | undefined;
  };

  const bc = one<x509.BasicConstraintsExtension>(OID.basicConstraints, 'basic constraints');
  if (!bc) problems.push('basic constraints extension is missing (leaf SVIDs must set cA=false)');
  else if (bc.ca) problems.push('leaf SVID has cA=true (a CA certificate is not an SVID)');

  const ku = one<x509.KeyUsagesExtension>(OID.keyUsage, 'key usage');
  if (!ku) problems.push('key usage extension is missing');
  else {
    if (!ku.critical) problems.push('key usage extension must be critical');
    const has = (flag: x509.KeyUsageFlags) => (ku.usages & flag) !== 0;
    if (!has(x509.KeyUsageFlags.digitalSignature)) problems.push('key usage lacks digitalSignature');
    if (has(x509.KeyUsageFlags.keyCertSign)) problems.push('leaf SVID must not set keyCertSign');
    if (has(x509.KeyUsageFlags.cRLSign)) problems.push('leaf SVID must not set cRLSign');
    if (has(x509.KeyUsageFlags.keyEncipherment) && !isRsa(c)) {
      problems.push('keyEncipherment is set on a non-RSA key');
    }
  }

  const eku = one<x509.ExtendedKeyUsageExtension>(OID.eku, 'extended key usage');
  if (!eku) problems.push('extended key usage extension is missing (serverAuth and clientAuth expected)');
  else {
    const usages = eku.usages.map(String);
    if (!usages.includes(x509.ExtendedKeyUsage.serverAuth)) problems.push('extended key usage lacks serverAuth');
    if (!usages.includes(x509.ExtendedKeyUsage.clientAuth)) problems.push('extended key usage lacks clientAuth');
  }

  let spiffeId: string | undefined;
  const san = one<x509.SubjectAlternativeNameExtension>(OID.san, 'subject alternative name');
  if (!san) problems.push('subject alternative name extension is missing (it must carry the SPIFFE ID)');
  else {
    if (c.subject === '' && !san.critical) problems.push('subject is empty, so the SAN extension must be critical');
    const uris = san.names.items.filter((n) => n.type === 'url').map((n) => n.value);
    if (uris.length !== 1) problems.push(`an X.509-SVID must have exactly one URI SAN, found ${uris.length}`);
    else {
      const parsed = parseSpiffeId(uris[0]!);
      if (typeof parsed === 'string') problems.push(`URI SAN is not a valid SPIFFE ID: ${parsed}`);
      else if (parsed.path === '') problems.push('a leaf SVID must have a SPIFFE ID with a path (not the trust domain itself)');
      else {
        spiffeId = uris[0]!;
        if (options.trustDomain !== undefined && parsed.trustDomain !== options.trustDomain) {
          problems.push(`SPIFFE ID is in trust domain "${parsed.trustDomain}", expected "${options.trustDomain}"`);
        }
        if (options.spiffeId !== undefined && spiffeId !== options.spiffeId) problems.push(`SPIFFE ID is ${spiffeId}, expected ${options.spiffeId}`);
      }
    }
  }
  if (c.notAfter.getTime() <= c.notBefore.getTime()) problems.push('notAfter is not after notBefore');
  return spiffeId === undefined ? { problems } : { spiffeId, problems };
}

function isRsa(c: x509.X509Certificate): boolean {
  // @peculiar/x509 names an rsaEncryption SPKI 'RSASSA-PKCS1-v1_5' (or RSA-PSS / RSA-OAEP).
  return /^RSA/.test(c.publicKey.algorithm.name);
}

/** Same as {@link lintSvid} for a leaf given as PEM, also checking its signature against `issuerPem`. */
export async function lintSvidSignedBy(cert: string, issuerPem: string, options: SvidLintOptions = {}): Promise<SvidLintResult> {
  const result = lintSvid(cert, options);
  const ok = await new x509.X509Certificate(cert).verify({ publicKey: new x509.X509Certificate(issuerPem).publicKey, signatureOnly: true }, crypto).catch(() => false);
  if (!ok) result.problems.push('signature does not verify with the issuer key');
  return result;
}
