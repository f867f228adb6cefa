// The tests' door to @peculiar/x509 (a devDependency: the reference meshlet's own DER is checked
// against, and the maker of certificates meshlet would never write, for the lint's tests). Its DI
// container (tsyringe) needs the Reflect metadata polyfill loaded first, and every call gets
// node's WebCrypto explicitly rather than the library's process-wide default provider.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export { x509 };

/** Node's WebCrypto (the DOM `Crypto` @peculiar/x509 expects). */
export const crypto: webcrypto.Crypto = webcrypto;

/** WebCrypto types by their DOM names (this project compiles without the DOM lib). */
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
