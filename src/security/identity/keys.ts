import { createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { oid, tlv } from '../der.js';
import { GeneralNameTag, ipAddressBytes, OID, SIGNATURE_ALGORITHM, signed, subjectAltNameExtension } from '../x509.js';
import { toPem } from './pem.js';

/**
 * Workload keys and CSRs. Keys are ECDSA P-256 from node:crypto's asynchronous `generateKeyPair`
 * (libuv's thread pool, never the event loop); the CSR is PKCS#10 (RFC 2986), written by
 * security/der.ts and signed with that key by node:crypto (proof of possession), carrying the
 * SPIFFE ID it asks for as its one URI SAN.
 */

const generate = promisify(generateKeyPair);

/** A private key in the forms the rest of meshlet needs. */
export interface WorkloadKey {
  /** PKCS#8 PEM, what node:tls takes as `key`. */
  privateKeyPem: string;
  /** The same key for node:crypto (signing the CSR). */
  privateKey: KeyObject;
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
  const { privateKey } = await generate('ec', { namedCurve: 'P-256' });
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, privateKey };
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
  const names: Array<[number, Uint8Array]> = [
    ...(options.uris ?? []).map((v): [number, Uint8Array] => [GeneralNameTag.uri, Buffer.from(v, 'latin1')]),
    ...(options.dnsNames ?? []).map((v): [number, Uint8Array] => [GeneralNameTag.dns, Buffer.from(v, 'latin1')]),
    ...(options.ipAddresses ?? []).map((v): [number, Uint8Array] => [GeneralNameTag.ip, ipAddressBytes(v)]),
  ];
  // attributes [0]: one extensionRequest (PKCS#9) holding the SAN extension, or none at all.
  const attributes = names.length
    ? [tlv(0x30, oid(OID.extensionRequest), tlv(0x31, tlv(0x30, subjectAltNameExtension(names, true))))]
    : [];
  const info = tlv(0x30,
    Buffer.from('020100', 'hex'), // version v1 (0)
    Buffer.from('3000', 'hex'), // empty subject: the identity is in the SAN (X509-SVID §2)
    createPublicKey(key.privateKey).export({ type: 'spki', format: 'der' }),
    tlv(0xa0, ...attributes),
  );
  return toPem('CERTIFICATE REQUEST', signed(info, SIGNATURE_ALGORITHM.ecdsaSha256, 'sha256', key.privateKey));
}
