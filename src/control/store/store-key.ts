import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { meshError } from '../../errors.js';

/**
 * The operator's store key: 32 bytes that encrypt secrets at rest in a shared store (the CA's
 * keys in etcd) with AES-256-GCM. Read from `--store-key-file FILE` / `storeKeyFile`, else env
 * `MESHLET_STORE_KEY`; either holds the key as 64 hex digits or base64 (whitespace ignored).
 * Kubernetes' EncryptionConfiguration `aesgcm` provider is the model: one symmetric key the
 * operator holds, random 96-bit nonce per write, the key name bound in as associated data so a
 * ciphertext cannot be moved to another key.
 *
 * @example
 * ```ts
 * // openssl rand -hex 32 > /etc/meshlet/store.key
 * const key = loadStoreKey({ file: '/etc/meshlet/store.key' });
 * const sealed = seal(key, 'ca/root-key.pem', pem);
 * open(key, 'ca/root-key.pem', sealed); // pem
 * ```
 */
export function loadStoreKey(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): Buffer {
  let text: string | undefined;
  let from: string;
  if (options.file !== undefined) {
    from = options.file;
    try {
      if (statSync(options.file).size > 4096) throw new Error('over 4096 bytes');
      text = readFileSync(options.file, 'utf8');
    } catch (err) {
      throw meshError('MESHLET_ERR_STORE_KEY', `cannot read the store key file ${options.file}: ${(err as Error).message}`, { cause: err });
    }
  } else {
    from = 'MESHLET_STORE_KEY';
    text = (options.env ?? process.env)['MESHLET_STORE_KEY'];
    if (!text) throw meshError('MESHLET_ERR_STORE_KEY', 'the CA in etcd is encrypted with a store key: pass --store-key-file FILE (or set MESHLET_STORE_KEY) holding 32 random bytes as hex or base64, e.g. `openssl rand -hex 32`');
  }
  const t = text.replace(/\s+/g, '');
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : /^[A-Za-z0-9+/]{43}=?$/.test(t) ? Buffer.from(t, 'base64') : undefined;
  if (!key || key.length !== 32) throw meshError('MESHLET_ERR_STORE_KEY', `${from} does not hold a 32-byte key as 64 hex digits or base64`);
  return key;
}

interface Sealed {
  v: 1;
  alg: 'A256GCM';
  iv: string;
  tag: string;
  data: string;
}

/** Encrypts `plain` for the store under `name` (the associated data). */
export function seal(key: Buffer, name: string, plain: Buffer): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(name));
  const data = Buffer.concat([c.update(plain), c.final()]);
  const out: Sealed = { v: 1, alg: 'A256GCM', iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64'), data: data.toString('base64') };
  return Buffer.from(JSON.stringify(out));
}

/** Decrypts what {@link seal} wrote under `name`; MESHLET_ERR_STORE_KEY when the key (or the name) does not match. */
export function open(key: Buffer, name: string, sealed: Buffer): Buffer {
  try {
    const s = JSON.parse(sealed.toString('utf8')) as Sealed;
    if (s.v !== 1 || s.alg !== 'A256GCM') throw new Error('not a meshlet sealed value (v1, A256GCM)');
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(s.iv, 'base64'));
    d.setAAD(Buffer.from(name));
    d.setAuthTag(Buffer.from(s.tag, 'base64'));
    return Buffer.concat([d.update(Buffer.from(s.data, 'base64')), d.final()]);
  } catch (err) {
    throw meshError('MESHLET_ERR_STORE_KEY', `cannot decrypt ${name}: wrong store key, or the value was altered (${(err as Error).message})`, { cause: err });
  }
}
