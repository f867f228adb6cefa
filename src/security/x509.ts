/**
 * The one door to @peculiar/x509. Its DI container (tsyringe) needs the Reflect metadata polyfill
 * loaded first, and every call gets node's WebCrypto explicitly rather than relying on the
 * library's process-wide default provider.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export { x509 };

/** Node's WebCrypto (the DOM `Crypto` @peculiar/x509 expects). */
export const crypto: webcrypto.Crypto = webcrypto;

/** WebCrypto types by their DOM names (this project compiles without the DOM lib). */
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type Algorithm = webcrypto.Algorithm;
export type EcdsaParams = webcrypto.EcdsaParams;
export type EcKeyImportParams = webcrypto.EcKeyImportParams;
export type RsaHashedImportParams = webcrypto.RsaHashedImportParams;
