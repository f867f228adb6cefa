import { fieldSize, varintSize, WireReader, writeStringField, writeVarint } from '../../xds/wire/primitives.js';

/**
 * Istio's certificate service, the one istio-agent and ztunnel call on istiod's port 15012
 * (istio/api `security/v1alpha1/ca.proto`, package `istio.v1.auth`):
 *
 *     rpc CreateCertificate(IstioCertificateRequest) returns (IstioCertificateResponse);
 *     message IstioCertificateRequest  { string csr = 1; int64 validity_duration = 3; google.protobuf.Struct metadata = 4; }
 *     message IstioCertificateResponse { repeated string cert_chain = 1; }
 *
 * The caller authenticates with `authorization: Bearer <token>` metadata or its client
 * certificate. `cert_chain` is the leaf, then each intermediate, then the root bundle as the last
 * element (istio `security/pkg/server/ca/server.go`). Three fields do not need protobufjs: this
 * codec writes and reads them directly, bounded. `metadata` is skipped.
 */

/** gRPC method path of CreateCertificate. */
export const CREATE_CERTIFICATE_METHOD = '/istio.v1.auth.IstioCertificateService/CreateCertificate';

/** IstioCertificateRequest. */
export interface CertificateRequestMessage {
  csr: string;
  /** Requested lifetime in seconds; 0 asks for the CA's default. */
  validityDuration: number;
}

const MAX_CSR_CHARS = 32 * 1024;
const MAX_CHAIN_ENTRIES = 16;
const MAX_CHAIN_ENTRY_CHARS = 64 * 1024;
/** Largest message either side accepts. */
export const MAX_MESSAGE_BYTES = MAX_CHAIN_ENTRIES * MAX_CHAIN_ENTRY_CHARS;

/** Encodes an IstioCertificateRequest. */
export function encodeCertificateRequest(msg: CertificateRequestMessage): Buffer {
  const csrLen = Buffer.byteLength(msg.csr);
  const validity = Math.max(0, Math.floor(msg.validityDuration));
  const size = fieldSize(csrLen) + (validity > 0 ? 1 + varintSize(validity) : 0);
  const buf = Buffer.alloc(size);
  let pos = writeStringField(buf, 0, 0x0a, msg.csr, csrLen);
  if (validity > 0) {
    buf[pos++] = 0x18;
    pos = writeVarint(buf, pos, validity);
  }
  return buf;
}

/** Decodes an IstioCertificateRequest; throws on malformed or oversized input. */
export function decodeCertificateRequest(bytes: Uint8Array): CertificateRequestMessage {
  const r = WireReader.of(bytes);
  const msg: CertificateRequestMessage = { csr: '', validityDuration: 0 };
  while (!r.done()) {
    const tag = r.varint32();
    if (tag === 0x0a) {
      msg.csr = r.string();
      if (msg.csr.length > MAX_CSR_CHARS) throw new RangeError(`csr is longer than ${MAX_CSR_CHARS} characters`);
    } else if (tag === 0x18) msg.validityDuration = int64(r);
    else r.skipField(tag & 7);
  }
  return msg;
}

/** Encodes an IstioCertificateResponse. */
export function encodeCertificateResponse(chain: readonly string[]): Buffer {
  const lens = chain.map((c) => Buffer.byteLength(c));
  const buf = Buffer.alloc(lens.reduce((n, len) => n + fieldSize(len), 0));
  let pos = 0;
  chain.forEach((c, i) => { pos = writeStringField(buf, pos, 0x0a, c, lens[i]!); });
  return buf;
}

/** Decodes an IstioCertificateResponse; throws on malformed or oversized input. */
export function decodeCertificateResponse(bytes: Uint8Array): string[] {
  const r = WireReader.of(bytes);
  const chain: string[] = [];
  while (!r.done()) {
    const tag = r.varint32();
    if (tag !== 0x0a) { r.skipField(tag & 7); continue; }
    if (chain.length >= MAX_CHAIN_ENTRIES) throw new RangeError(`cert_chain has more than ${MAX_CHAIN_ENTRIES} entries`);
    const entry = r.string();
    if (entry.length > MAX_CHAIN_ENTRY_CHARS) throw new RangeError(`a cert_chain entry is longer than ${MAX_CHAIN_ENTRY_CHARS} characters`);
    chain.push(entry);
  }
  return chain;
}

/** An int64 varint as a number; negative or beyond 2^53 reads as 0 (the CA then uses its default). */
function int64(r: WireReader): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (r.pos >= r.end) throw new RangeError('truncated varint');
    const b = r.buf[r.pos++]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) return i === 9 || value > Number.MAX_SAFE_INTEGER ? 0 : value;
  }
  throw new RangeError('invalid varint encoding');
}
