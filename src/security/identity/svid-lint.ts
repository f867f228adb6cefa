import { X509Certificate } from 'node:crypto';
import { GeneralNameTag, KeyUsage, OID, readBasicConstraints, readCertificate, readExtKeyUsage, readGeneralNames, readKeyUsage, type ExtensionField } from '../x509.js';
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
 *
 * node:crypto parses the certificate (and verifies signatures in {@link lintSvidSignedBy}); the
 * extensions are read by security/x509.ts, since `X509Certificate` exposes neither criticality
 * nor key-usage bits.
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
  let c: X509Certificate;
  let fields: ReturnType<typeof readCertificate>;
  try {
    c = new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
    fields = readCertificate(c.raw);
  } catch (err) {
    return { problems: [`not an X.509 certificate: ${(err as Error).message}`] };
  }
  const problems: string[] = [];
  const one = (oid: string, name: string): ExtensionField | undefined => {
    const found = fields.extensions.filter((e) => e.oid === oid);
    if (found.length > 1) problems.push(`${name} extension appears ${found.length} times`);
    return found[0];
  };
  // An extension whose value does not decode is reported, and the rest still checked.
  const decode = <T>(e: ExtensionField, name: string, read: (v: Buffer) => T): T | undefined => {
    try {
      return read(e.value);
    } catch (err) {
      problems.push(`${name} extension cannot be read: ${(err as Error).message}`);
      return undefined;
    }
  };

  const bcExt = one(OID.basicConstraints, 'basic constraints');
  const bc = bcExt && decode(bcExt, 'basic constraints', readBasicConstraints);
  if (!bcExt) problems.push('basic constraints extension is missing (leaf SVIDs must set cA=false)');
  else if (bc?.ca) problems.push('leaf SVID has cA=true (a CA certificate is not an SVID)');

  const kuExt = one(OID.keyUsage, 'key usage');
  const usages = kuExt && decode(kuExt, 'key usage', readKeyUsage);
  if (!kuExt) problems.push('key usage extension is missing');
  else {
    if (!kuExt.critical) problems.push('key usage extension must be critical');
    if (usages !== undefined) {
      const has = (flag: number) => (usages & flag) !== 0;
      if (!has(KeyUsage.digitalSignature)) problems.push('key usage lacks digitalSignature');
      if (has(KeyUsage.keyCertSign)) problems.push('leaf SVID must not set keyCertSign');
      if (has(KeyUsage.cRLSign)) problems.push('leaf SVID must not set cRLSign');
      if (has(KeyUsage.keyEncipherment) && !isRsa(c)) problems.push('keyEncipherment is set on a non-RSA key');
    }
  }

  const ekuExt = one(OID.extKeyUsage, 'extended key usage');
  const purposes = ekuExt && decode(ekuExt, 'extended key usage', readExtKeyUsage);
  if (!ekuExt) problems.push('extended key usage extension is missing (serverAuth and clientAuth expected)');
  else if (purposes) {
    if (!purposes.includes(OID.serverAuth)) problems.push('extended key usage lacks serverAuth');
    if (!purposes.includes(OID.clientAuth)) problems.push('extended key usage lacks clientAuth');
  }

  let spiffeId: string | undefined;
  const sanExt = one(OID.subjectAltName, 'subject alternative name');
  const names = sanExt && decode(sanExt, 'subject alternative name', readGeneralNames);
  if (!sanExt) problems.push('subject alternative name extension is missing (it must carry the SPIFFE ID)');
  else if (names) {
    if (fields.subject.length === 2 && !sanExt.critical) problems.push('subject is empty, so the SAN extension must be critical');
    const uris = names.filter((n) => n.tag === GeneralNameTag.uri).map((n) => n.value.toString('latin1'));
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
  if (!(Date.parse(c.validTo) > Date.parse(c.validFrom))) problems.push('notAfter is not after notBefore');
  return spiffeId === undefined ? { problems } : { spiffeId, problems };
}

function isRsa(c: X509Certificate): boolean {
  // rsaEncryption or RSASSA-PSS keys may encipher; EC keys may not (RFC 5480 §3).
  const type = c.publicKey.asymmetricKeyType;
  return type === 'rsa' || type === 'rsa-pss';
}

/** Same as {@link lintSvid} for a leaf given as PEM, also checking its signature against `issuerPem`. */
export async function lintSvidSignedBy(cert: string, issuerPem: string, options: SvidLintOptions = {}): Promise<SvidLintResult> {
  const result = lintSvid(cert, options);
  let ok = false;
  try {
    ok = new X509Certificate(cert).verify(new X509Certificate(issuerPem).publicKey);
  } catch {
    // unparsable leaf or issuer: lintSvid reported the leaf; either way the signature does not verify
  }
  if (!ok) result.problems.push('signature does not verify with the issuer key');
  return result;
}
