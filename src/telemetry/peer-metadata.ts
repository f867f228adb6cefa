/**
 * Istio's HTTP metadata exchange (istio/proxy `extensions/metadata_exchange`): a calling sidecar
 * sends its workload's node metadata in `x-envoy-peer-metadata` (a base64 `google.protobuf.Struct`
 * with NAMESPACE, WORKLOAD_NAME, LABELS, CLUSTER_ID, …) and its node id in
 * `x-envoy-peer-metadata-id`; the server's sidecar reads them for the `source_*` labels of its
 * `reporter="destination"` metrics. Without it a server knows a caller by its certificate only
 * (`source_workload="unknown"`). The header is telemetry, never identity: authorization reads the
 * verified certificate alone, as in Istio.
 */
import type { WorkloadFacts } from './metrics-labels.js';

/** Request header with the caller's metadata (base64 Struct). */
export const PEER_METADATA_HEADER = 'x-envoy-peer-metadata';
/** Request header with the caller's node id. */
export const PEER_METADATA_ID_HEADER = 'x-envoy-peer-metadata-id';

/** Largest header value decoded (Envoy's whole header block defaults to 60 KiB). */
const MAX_HEADER_CHARS = 8192;
const MAX_LABELS = 64;

/** What this workload sends. */
export interface PeerMetadataSource {
  namespace: string;
  workload: string;
  labels: Readonly<Record<string, string>>;
  cluster?: string;
  nodeId: string;
}

/** The two header values, computed once per mesh. */
export interface PeerMetadataHeaders {
  readonly id: string;
  readonly value: string;
}

// ---- a minimal protobuf writer/reader for Struct { map<string, Value> fields = 1 } -------------

function varint(n: number, out: number[]): void {
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
}

function lengthDelimited(field: number, bytes: Uint8Array, out: number[]): void {
  varint((field << 3) | 2, out);
  varint(bytes.length, out);
  for (const b of bytes) out.push(b);
}

function stringValue(s: string): Uint8Array {
  const out: number[] = [];
  lengthDelimited(3, Buffer.from(s, 'utf8'), out); // Value.string_value = 3
  return Uint8Array.from(out);
}

function structOf(fields: ReadonlyArray<[string, Uint8Array]>): Uint8Array {
  const out: number[] = [];
  for (const [key, value] of fields) {
    const entry: number[] = [];
    lengthDelimited(1, Buffer.from(key, 'utf8'), entry);
    lengthDelimited(2, value, entry);
    lengthDelimited(1, Uint8Array.from(entry), out); // Struct.fields = 1 (map entry)
  }
  return Uint8Array.from(out);
}

/**
 * The headers a workload sends on its outbound requests.
 *
 * @example
 * ```ts
 * const h = encodePeerMetadata({ namespace: 'default', workload: 'productpage-v1', labels: { app: 'productpage', version: 'v1' }, nodeId: 'sidecar~…' });
 * headers['x-envoy-peer-metadata'] = h.value;
 * ```
 */
export function encodePeerMetadata(src: PeerMetadataSource): PeerMetadataHeaders {
  const labels = Object.entries(src.labels).slice(0, MAX_LABELS).map(([k, v]) => [k, stringValue(v)] as [string, Uint8Array]);
  const labelsValue: number[] = [];
  lengthDelimited(5, structOf(labels), labelsValue); // Value.struct_value = 5
  const fields: Array<[string, Uint8Array]> = [
    ['NAMESPACE', stringValue(src.namespace)],
    ['WORKLOAD_NAME', stringValue(src.workload)],
    ['LABELS', Uint8Array.from(labelsValue)],
  ];
  if (src.cluster) fields.push(['CLUSTER_ID', stringValue(src.cluster)]);
  return { id: src.nodeId, value: Buffer.from(structOf(fields)).toString('base64') };
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly end = buf.length) {}
  varint(): number {
    let n = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw new RangeError('truncated');
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
    }
    throw new RangeError('varint too long');
  }
  /** The next length-delimited field's [field number, sub-reader]; other wire types are skipped. */
  next(): [number, Reader] | undefined {
    while (this.pos < this.end) {
      const tag = this.varint();
      const wire = tag & 7;
      if (wire === 2) {
        const len = this.varint();
        if (this.pos + len > this.end) throw new RangeError('truncated');
        const sub = new Reader(this.buf.subarray(this.pos, this.pos + len));
        this.pos += len;
        return [tag >>> 3, sub];
      }
      if (wire === 0) this.varint();
      else if (wire === 1) this.pos += 8;
      else if (wire === 5) this.pos += 4;
      else throw new RangeError('bad wire type');
    }
    return undefined;
  }
  string(): string {
    return Buffer.from(this.buf.subarray(this.pos, this.end)).toString('utf8');
  }
}

/** Struct → key → its Value's string_value (3) or nested struct_value (5) reader. */
function readStruct(r: Reader, limit: number): Map<string, { str?: string; struct?: Reader }> {
  const out = new Map<string, { str?: string; struct?: Reader }>();
  for (let f = r.next(); f && out.size < limit; f = r.next()) {
    if (f[0] !== 1) continue;
    let key: string | undefined;
    let value: { str?: string; struct?: Reader } = {};
    for (let e = f[1].next(); e; e = f[1].next()) {
      if (e[0] === 1) key = e[1].string();
      else if (e[0] === 2) {
        for (let v = e[1].next(); v; v = e[1].next()) {
          if (v[0] === 3) value = { str: v[1].string() };
          else if (v[0] === 5) value = { struct: v[1] };
        }
      }
    }
    if (key !== undefined) out.set(key, value);
  }
  return out;
}

/**
 * The caller's workload from its `x-envoy-peer-metadata` value; undefined when absent, too
 * large or malformed (never throws).
 *
 * @example
 * ```ts
 * decodePeerMetadata(req.headers['x-envoy-peer-metadata']); // { namespace: 'default', workload: 'productpage-v1', labels: { … } }
 * ```
 */
export function decodePeerMetadata(value: string | undefined): WorkloadFacts | undefined {
  if (value === undefined || value.length === 0 || value.length > MAX_HEADER_CHARS) return undefined;
  try {
    const fields = readStruct(new Reader(Buffer.from(value, 'base64')), 64);
    const namespace = fields.get('NAMESPACE')?.str;
    const workload = fields.get('WORKLOAD_NAME')?.str;
    if (!namespace && !workload) return undefined;
    const labels: Record<string, string> = {};
    const nested = fields.get('LABELS')?.struct;
    if (nested) for (const [k, v] of readStruct(nested, MAX_LABELS)) if (v.str !== undefined) labels[k] = v.str;
    const cluster = fields.get('CLUSTER_ID')?.str;
    return {
      ...(workload ? { workload } : {}),
      ...(namespace ? { namespace } : {}),
      labels,
      ...(cluster ? { cluster } : {}),
    };
  } catch {
    return undefined;
  }
}
