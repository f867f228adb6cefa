import { createHash, X509Certificate } from 'node:crypto';

/**
 * PEM text in and out, and the certificate fingerprint format used across meshlet: the SHA-256 of
 * the DER, 64 lowercase hex digits (what `openssl x509 -fingerprint -sha256` prints, without the
 * colons).
 */

const BLOCK = /-----BEGIN ([A-Z0-9 ]{1,40})-----\r?\n([A-Za-z0-9+/=\r\n]{0,65536}?)-----END \1-----/g;

/** One PEM block. */
export interface PemBlock {
  label: string;
  der: Buffer;
}

/** Every PEM block in `text`, in order (text outside blocks is ignored, as OpenSSL does). */
export function readPemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) out.push({ label: m[1]!, der: Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64') });
  return out;
}

/** The certificates of a PEM bundle as DER; throws a TypeError when a block is not a certificate. */
export function readCertificates(text: string): Buffer[] {
  return readPemBlocks(text).map((b) => {
    if (b.label !== 'CERTIFICATE') throw new TypeError(`expected CERTIFICATE blocks, found "${b.label}"`);
    return b.der;
  });
}

/** DER to PEM with 64-column lines and a trailing newline. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Splits a PEM bundle into one PEM string per certificate. */
export function splitCertificates(text: string): string[] {
  return readCertificates(text).map((der) => toPem('CERTIFICATE', der));
}

/**
 * SHA-256 fingerprint of a certificate (DER, PEM or node X509Certificate) as 64 lowercase hex digits.
 *
 * @example
 * ```ts
 * certificateFingerprint(readFileSync('root-cert.pem', 'utf8')); // 'a3f1…'
 * ```
 */
export function certificateFingerprint(cert: Uint8Array | string | X509Certificate): string {
  const der = cert instanceof X509Certificate ? cert.raw : typeof cert === 'string' ? readCertificates(cert)[0] : cert;
  if (!der) throw new TypeError('no certificate to fingerprint');
  return createHash('sha256').update(der).digest('hex');
}

/** A fingerprint in any common spelling (`AB:CD:…`, `sha256:abcd…`) to meshlet's form, or `undefined`. */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.trim().replace(/^sha256:/i, '').replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}
