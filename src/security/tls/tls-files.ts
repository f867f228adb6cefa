import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { meshError } from '../../errors.js';
import type { TlsFilesModel } from '../../core/model/transport.js';
import { splitCertificates } from '../identity/pem.js';

/** A certificate, chain or key file larger than this is refused (a CA bundle is ~200 KiB). */
export const MAX_TLS_FILE_BYTES = 1024 * 1024;

/** The PEM a DestinationRule's files hold, checked: a key that matches the leaf, parseable CAs. */
export interface TlsFileMaterial {
  /** Client certificate chain (MUTUAL). */
  cert?: string;
  key?: string;
  /** CAs the server must chain to; undefined: the system CAs. */
  ca?: string;
}

type Reader = (path: string, what: string) => string | Promise<string>;

/**
 * Reads the files of a DestinationRule `SIMPLE`/`MUTUAL` transport (Istio writes them into the
 * cluster as Envoy DataSource filenames; Envoy reads them on the client side, so does meshlet).
 * Each file is bounded ({@link MAX_TLS_FILE_BYTES}); a missing, oversized or unreadable file, PEM
 * that does not parse, or a key that does not belong to the certificate is
 * MESHLET_ERR_TLS_FILES naming the file — the request fails, it is never sent without them.
 *
 * @example
 * ```ts
 * const m = await loadTlsFiles({ certificateChain: '/etc/certs/client.pem', privateKey: '/etc/certs/key.pem', trustedCa: '/etc/certs/ca.pem' });
 * tls.connect({ host, port, key: m.key, cert: m.cert, ca: m.ca });
 * ```
 */
export async function loadTlsFiles(files: TlsFilesModel): Promise<TlsFileMaterial> {
  const read: Reader = async (path, what) => {
    try {
      if ((await stat(path)).size > MAX_TLS_FILE_BYTES) throw tooLarge(path, what);
      return await readFile(path, 'utf8');
    } catch (err) {
      throw unreadable(err, path, what);
    }
  };
  return check(files, {
    cert: files.certificateChain ? await read(files.certificateChain, 'clientCertificate') : undefined,
    key: files.privateKey ? await read(files.privateKey, 'privateKey') : undefined,
    ca: files.trustedCa ? await read(files.trustedCa, 'caCertificates') : undefined,
  });
}

/** {@link loadTlsFiles}, synchronously (grpc-js builds channel credentials synchronously). */
export function loadTlsFilesSync(files: TlsFilesModel): TlsFileMaterial {
  const read = (path: string, what: string): string => {
    try {
      if (statSync(path).size > MAX_TLS_FILE_BYTES) throw tooLarge(path, what);
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw unreadable(err, path, what);
    }
  };
  return check(files, {
    cert: files.certificateChain ? read(files.certificateChain, 'clientCertificate') : undefined,
    key: files.privateKey ? read(files.privateKey, 'privateKey') : undefined,
    ca: files.trustedCa ? read(files.trustedCa, 'caCertificates') : undefined,
  });
}

/** A client secure context from the files (the system CAs when they name none). */
export function fileSecureContext(m: TlsFileMaterial): SecureContext {
  return createSecureContext({ ...(m.cert && m.key ? { cert: m.cert, key: m.key } : {}), ca: m.ca ?? [...rootCertificates], minVersion: 'TLSv1.2' });
}

function check(files: TlsFilesModel, raw: { cert: string | undefined; key: string | undefined; ca: string | undefined }): TlsFileMaterial {
  const out: TlsFileMaterial = {};
  if (raw.cert !== undefined && raw.key !== undefined) {
    const certs = pemCertificates(raw.cert, files.certificateChain!, 'clientCertificate');
    let key;
    try {
      key = createPrivateKey(raw.key);
    } catch (err) {
      throw meshError('MESHLET_ERR_TLS_FILES', `privateKey ${files.privateKey}: not a PEM private key (${(err as Error).message})`, { cause: err });
    }
    if (!certs[0]!.checkPrivateKey(key)) throw meshError('MESHLET_ERR_TLS_FILES', `privateKey ${files.privateKey} does not belong to the certificate in ${files.certificateChain}`);
    out.cert = raw.cert;
    out.key = raw.key;
  }
  if (raw.ca !== undefined) {
    pemCertificates(raw.ca, files.trustedCa!, 'caCertificates');
    out.ca = raw.ca;
  }
  return out;
}

function pemCertificates(pem: string, path: string, what: string): X509Certificate[] {
  const blocks = splitCertificates(pem);
  if (blocks.length === 0) throw meshError('MESHLET_ERR_TLS_FILES', `${what} ${path}: no PEM certificate`);
  try {
    return blocks.map((b) => new X509Certificate(b));
  } catch (err) {
    throw meshError('MESHLET_ERR_TLS_FILES', `${what} ${path}: a certificate does not parse (${(err as Error).message})`, { cause: err });
  }
}

function tooLarge(path: string, what: string): Error {
  return meshError('MESHLET_ERR_TLS_FILES', `${what} ${path} is larger than ${MAX_TLS_FILE_BYTES} bytes`);
}

function unreadable(err: unknown, path: string, what: string): Error {
  if ((err as { code?: string })?.code === 'MESHLET_ERR_TLS_FILES') return err as Error;
  return meshError('MESHLET_ERR_TLS_FILES', `${what} ${path} cannot be read: ${(err as Error).message}`, { cause: err });
}
