import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { crypto, x509, type CryptoKeyPair } from '../x509.js';

/**
 * Workload keys and CSRs. Keys are ECDSA P-256 from node:crypto's asynchronous `generateKeyPair`
 * (libuv's thread pool, never the event loop); the CSR is PKCS#10, built with @peculiar/x509 and
 * signed with that key (proof of possession), carrying the SPIFFE ID it asks for as its one URI SAN.
 */

const generate = promisify(generateKeyPair);
const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** A private key in the forms the rest of meshlet needs. */
export interface WorkloadKey {
  /** PKCS#8 PEM, what node:tls takes as `key`. */
  privateKeyPem: string;
  /** The pair as WebCrypto keys (for signing the CSR). */
  keys: CryptoKeyPair;
}

/**
 * Generates an ECDSA P-256 key pair off the event loop.
 *
 * @example
 * ```ts
 * const key = await generateWorkloadKey();
 * tls.createSecureContext({ key: key.privateKeyPem, cert: chainPem });
 * ```
 */
export async function generateWorkloadKey(): Promise<WorkloadKey> {
  const { privateKey, publicKey } = await generate('ec', { namedCurve: 'P-256' });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    keys: await toCryptoKeyPair(privateKey, publicKey),
  };
}

async function toCryptoKeyPair(privateKey: KeyObject, publicKey: KeyObject): Promise<CryptoKeyPair> {
  const subtle = crypto.subtle;
  const [priv, pub] = await Promise.all([
    subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), ECDSA_P256, false, ['sign']),
    subtle.importKey('spki', publicKey.export({ type: 'spki', format: 'der' }), ECDSA_P256, true, ['verify']),
  ]);
  return { privateKey: priv, publicKey: pub };
}

/** What a CSR asks for. */
export interface CsrOptions {
  /** URI SANs (a workload asks for its one SPIFFE ID). */
  uris?: string[];
  /** DNS SANs (the control server's own certificate). */
  dnsNames?: string[];
  /** IP SANs. */
  ipAddresses?: string[];
}

/**
 * A PKCS#10 CSR (PEM) for `key`, with an empty subject and the given SANs.
 *
 * @example
 * ```ts
 * const csrPem = await createCsr(key, { uris: ['spiffe://cluster.local/ns/default/sa/reviews'] });
 * ```
 */
export async function createCsr(key: WorkloadKey, options: CsrOptions = {}): Promise<string> {
  const names: x509.JsonGeneralName[] = [
    ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: key.keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: names.length ? [new x509.SubjectAlternativeNameExtension(names, true)] : [],
  }, crypto);
  return csr.toString('pem');
}
