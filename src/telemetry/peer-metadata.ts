/**
 * Istio's HTTP metadata exchange (istio/proxy `extensions/metadata_exchange`): a calling sidecar
 * sends its workload's node metadata in `x-envoy-peer-metadata` (a base64 `google.protobuf.Struct`
 * with NAMESPACE, WORKLOAD_NAME, LABELS, CLUSTER_ID, …) and its node id in
 * `x-envoy-peer-metadata-id`; the server's sidecar reads them for the `source_*` labels of its
 * `reporter="destination"` metrics. Without it a server knows a caller by its certificate only
 * (`source_workload="unknown"`). The header is telemetry, never identity: authorization reads the
 * verified certificate alone, as in Istio.
 */
import { decode } from '../xds/wire/decode.js';
import { encode } from '../xds/wire/encode.js';
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

type StructValue = { string_value?: string; struct_value?: StructProto };
type StructProto = { fields?: Record<string, StructValue> };

const str = (value: string): StructValue => ({ string_value: value });

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
  const labels = Object.fromEntries(Object.entries(src.labels).slice(0, MAX_LABELS).map(([k, v]) => [k, str(v)]));
  const fields: Record<string, StructValue> = {
    NAMESPACE: str(src.namespace),
    WORKLOAD_NAME: str(src.workload),
    LABELS: { struct_value: { fields: labels } },
    ...(src.cluster ? { CLUSTER_ID: str(src.cluster) } : {}),
  };
  return { id: src.nodeId, value: encode('google.protobuf.Struct', { fields }).toString('base64') };
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
    // The one protobuf codec (xds/wire): bounded, and it throws RangeError on malformed input.
    const fields = decode<StructProto>('google.protobuf.Struct', Buffer.from(value, 'base64')).fields ?? {};
    const namespace = fields['NAMESPACE']?.string_value;
    const workload = fields['WORKLOAD_NAME']?.string_value;
    if (!namespace && !workload) return undefined;
    const labels: Record<string, string> = {};
    let n = 0;
    for (const [k, v] of Object.entries(fields['LABELS']?.struct_value?.fields ?? {})) {
      if (v.string_value === undefined) continue;
      if (++n > MAX_LABELS) break;
      labels[k] = v.string_value;
    }
    const cluster = fields['CLUSTER_ID']?.string_value;
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
