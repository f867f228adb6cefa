import { expectTlv, extension, oid, tlv } from '../../security/der.js';
import { readCertificate } from '../../security/x509.js';

/**
 * The join token an SVID was issued on the authority of, carried in the SVID itself so that a
 * revocation reaches the certificates the token obtained and their renewals (a renewal is
 * authenticated by the current SVID, not the token: control/ca/certificate-service.ts).
 *
 * A private, non-critical extension whose value is the token's `jti` as a UTF8String. Its OID
 * is a UUID OID (`2.25.<UUID>`, ITU-T X.667 §6.3: usable without registration), minted once for
 * meshlet. Peers ignore it (RFC 5280 §4.2: a non-critical extension a verifier does not know is
 * skipped); the jti names a token, it is not the token (a token cannot be rebuilt from it).
 */
export const TOKEN_ID_OID = '2.25.216442624225293743724258550307795285725';

/** Longest jti the CA carries (jose's own are 22 characters; anything past this is refused earlier). */
export const MAX_TOKEN_ID_LENGTH = 128;
const OID_DER = oid(TOKEN_ID_OID);

/** The extension DER for one jti. */
export function tokenIdExtension(jti: string): Buffer {
  return extension(OID_DER, false, tlv(0x0c, Buffer.from(jti, 'utf8')));
}

/**
 * The jti an SVID carries, or undefined when it has none (issued before meshlet carried it, or
 * by another CA). A malformed value reads as none: the certificate was verified against the
 * trust bundle before this is asked, so only this CA wrote it.
 *
 * @example
 * ```ts
 * const jti = readTokenId(new X509Certificate(leafPem).raw);
 * ```
 */
export function readTokenId(certDer: Buffer): string | undefined {
  try {
    const ext = readCertificate(certDer).extensions.find((e) => e.oid === TOKEN_ID_OID);
    if (!ext) return undefined;
    const t = expectTlv(ext.value, 0, 0x0c, ext.value.length, 'token id');
    if (t.end !== ext.value.length || t.end - t.body > MAX_TOKEN_ID_LENGTH) return undefined;
    return ext.value.subarray(t.body, t.end).toString('utf8') || undefined;
  } catch {
    return undefined;
  }
}
