/**
 * Cluster transport sockets: `transport_socket` and `transport_socket_matches` holding Envoy's
 * UpstreamTlsContext (envoy.transport_sockets.tls) or raw_buffer, decoded into the
 * {@link ClusterTransportModel}. Accepts both spellings Istio emits for the mesh identity:
 * certificate provider instances (proxyless gRPC, `pilot/pkg/networking/grpcgen/cds.go`) and SDS
 * secret names `default` / `ROOTCA` (sidecars, `pilot/pkg/networking/core/cluster_tls.go`).
 * Anything this client cannot honour (SAN regexes, CA files, other sockets) is an error, so a
 * cluster that asks for security we cannot give is NACKed rather than sent in the clear.
 */
import type { TlsTransportModel, ClusterTransportModel, TransportMatchModel, TransportModel } from '../../core/model/index.js';
import { PLAINTEXT } from '../../core/model/index.js';
import { structToJson, type StructProto } from '../struct.js';
import { decodeAny } from './common.js';
import type { AnyProto } from './proto-types.js';

export const UPSTREAM_TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const RAW_BUFFER = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
const MAX_MATCHES = 64;
const MAX_SANS = 256;

interface TransportSocketProto { name?: string; config_type?: string; typed_config?: AnyProto }
/** Cluster.TransportSocketMatch. */
export interface TransportSocketMatchProto { name?: string; match?: StructProto; transport_socket?: TransportSocketProto }
interface StringMatcherProto { match_pattern?: string; exact?: string }
interface DataSourceProto { specifier?: string; filename?: string }
interface ValidationProto { ca_certificate_provider_instance?: { instance_name?: string }; trusted_ca?: DataSourceProto; match_subject_alt_names?: StringMatcherProto[] }
interface UpstreamTlsContextProto {
  sni?: string;
  common_tls_context?: {
    tls_certificate_provider_instance?: { instance_name?: string };
    tls_certificate_sds_secret_configs?: Array<{ name?: string }>;
    tls_certificates?: Array<{ certificate_chain?: DataSourceProto; private_key?: DataSourceProto }>;
    validation_context_type?: string;
    validation_context?: ValidationProto;
    validation_context_sds_secret_config?: { name?: string };
    combined_validation_context?: { default_validation_context?: ValidationProto; validation_context_sds_secret_config?: { name?: string } };
    alpn_protocols?: string[];
  };
}

/** The cluster's transport, or undefined when it names none (plaintext). Errors carry field paths. */
export function clusterTransport(
  socket: TransportSocketProto | undefined,
  matches: TransportSocketMatchProto[] | undefined,
  errors: string[],
): ClusterTransportModel | undefined {
  const list = matches ?? [];
  if (!socket && list.length === 0) return undefined;
  if (list.length > MAX_MATCHES) errors.push(`transport_socket_matches: more than ${MAX_MATCHES} entries`);
  const out: TransportMatchModel[] = [];
  list.slice(0, MAX_MATCHES).forEach((m, i) => {
    const path = `transport_socket_matches[${i}]`;
    const match: Record<string, string> = {};
    const json = m.match ? structToJson(m.match) : {};
    for (const [k, v] of Object.entries(json)) match[k] = String(v);
    const transport = m.transport_socket ? transportOf(m.transport_socket, `${path}.transport_socket`, errors) : PLAINTEXT;
    if (transport) out.push({ name: m.name ?? '', match, transport });
  });
  const model: { matches: TransportMatchModel[]; socket?: TransportModel } = { matches: out };
  if (socket) {
    const t = transportOf(socket, 'transport_socket', errors);
    if (t) model.socket = t;
  }
  return model;
}

function transportOf(ts: TransportSocketProto, path: string, errors: string[]): TransportModel | undefined {
  const typeUrl = ts.typed_config?.type_url;
  if (ts.config_type !== 'typed_config' || !typeUrl) {
    errors.push(`${path}.typed_config: unset`);
    return undefined;
  }
  if (typeUrl === RAW_BUFFER) return PLAINTEXT;
  const tls = decodeAny<UpstreamTlsContextProto>(ts.typed_config, UPSTREAM_TLS_CONTEXT, `${path}.typed_config`, errors);
  if (!tls) return undefined;
  const ctx = tls.common_tls_context ?? {};
  const p = `${path}.typed_config.common_tls_context`;
  const identity = ctx.tls_certificate_provider_instance !== undefined || (ctx.tls_certificate_sds_secret_configs ?? []).some((s) => s.name === 'default');
  const files: { certificateChain?: string; privateKey?: string; trustedCa?: string } = {};
  const certs = ctx.tls_certificates ?? [];
  if (certs.length > 1) errors.push(`${p}.tls_certificates: at most one certificate`);
  if (certs.length === 1) {
    const chain = fileOf(certs[0]!.certificate_chain, `${p}.tls_certificates[0].certificate_chain`, errors);
    const key = fileOf(certs[0]!.private_key, `${p}.tls_certificates[0].private_key`, errors);
    if (chain && key) Object.assign(files, { certificateChain: chain, privateKey: key });
  }
  let validation: ValidationProto | undefined;
  let meshRoots = false;
  switch (ctx.validation_context_type) {
    case 'validation_context':
      validation = ctx.validation_context;
      break;
    case 'combined_validation_context':
      validation = ctx.combined_validation_context?.default_validation_context;
      meshRoots = ctx.combined_validation_context?.validation_context_sds_secret_config?.name === 'ROOTCA';
      break;
    case 'validation_context_sds_secret_config':
      meshRoots = ctx.validation_context_sds_secret_config?.name === 'ROOTCA';
      if (!meshRoots) errors.push(`${p}.validation_context_sds_secret_config: only ROOTCA (the mesh trust bundle) is supported`);
      break;
    default:
  }
  if (validation?.ca_certificate_provider_instance) meshRoots = true;
  if (validation?.trusted_ca !== undefined) {
    const ca = fileOf(validation.trusted_ca, `${p}.validation_context.trusted_ca`, errors);
    if (ca) files.trustedCa = ca;
  }
  const sans: string[] = [];
  (validation?.match_subject_alt_names ?? []).slice(0, MAX_SANS + 1).forEach((m, i) => {
    if (m.match_pattern === 'exact' && typeof m.exact === 'string' && m.exact !== '') sans.push(m.exact);
    else errors.push(`${p}.match_subject_alt_names[${i}]: only non-empty exact matchers are supported`);
  });
  if (sans.length > MAX_SANS) errors.push(`${p}.match_subject_alt_names: more than ${MAX_SANS}`);
  const model: TlsTransportModel = { kind: 'tls', sni: tls.sni ?? '', identity, trust: meshRoots ? 'mesh' : 'system', subjectAltNames: sans, alpn: (ctx.alpn_protocols ?? []).slice(0, 8) };
  return files.certificateChain || files.trustedCa ? { ...model, files } : model;
}

/** Longest file path accepted from a DataSource. */
const MAX_PATH = 4096;

/**
 * A DataSource naming a file (what Istio writes for DestinationRule `clientCertificate`,
 * `privateKey`, `caCertificates`); inline bytes and environment variables are not read.
 */
function fileOf(ds: DataSourceProto | undefined, path: string, errors: string[]): string | undefined {
  if (ds?.specifier !== 'filename' || typeof ds.filename !== 'string' || ds.filename === '') {
    errors.push(`${path}: only a filename data source is supported`);
    return undefined;
  }
  if (ds.filename.length > MAX_PATH || ds.filename.includes('\0')) {
    errors.push(`${path}.filename: not a usable path`);
    return undefined;
  }
  return ds.filename;
}
