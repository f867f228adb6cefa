/**
 * Inbound listener model: what a workload's server-side listener (Istio's proxyless
 * `xds.istio.io/grpc/lds/inbound/<addr>:<port>`) carries — filter chains with or without a
 * DownstreamTlsContext (the mTLS mode), each with its RBAC filters in order. Plain immutable
 * data built by src/xds/resources/inbound.ts, compiled by src/security/authz.
 */
import type { JwtAuthnModel } from './jwt-authn.js';
import type { HeaderMatchModel, StringMatchModel } from './route.js';

/** core.v3.CidrRange, parsed: address family, the address bytes and the prefix length. */
export interface CidrModel {
  readonly family: 4 | 6;
  /** Network address as 4 or 16 bytes. */
  readonly bytes: readonly number[];
  readonly prefixLen: number;
  /** As written (`10.0.0.0/8`), for messages. */
  readonly text: string;
}

/** type.matcher.v3.ValueMatcher subset Istio emits (string, or, list one_of, present). */
export type ValueMatchModel =
  | { readonly kind: 'string'; readonly match: StringMatchModel }
  | { readonly kind: 'present'; readonly present: boolean }
  | { readonly kind: 'or'; readonly matchers: readonly ValueMatchModel[] }
  | { readonly kind: 'list'; readonly oneOf: ValueMatchModel };

/** type.matcher.v3.MetadataMatcher: `filter` namespace, a key path, a value matcher. */
export interface MetadataMatchModel {
  readonly filter: string;
  readonly path: readonly string[];
  readonly value: ValueMatchModel;
  readonly invert: boolean;
}

/** config.rbac.v3.Permission (the `to`/`when` side: what is being accessed). */
export type RbacPermissionModel =
  | { readonly kind: 'any' }
  | { readonly kind: 'and' | 'or'; readonly rules: readonly RbacPermissionModel[] }
  | { readonly kind: 'not'; readonly rule: RbacPermissionModel }
  | { readonly kind: 'header'; readonly header: HeaderMatchModel }
  | { readonly kind: 'urlPath'; readonly match: StringMatchModel }
  /** uri_template (UriTemplateMatchConfig.path_template, Envoy's `*` and `**` operators). */
  | { readonly kind: 'uriTemplate'; readonly template: string }
  | { readonly kind: 'destinationIp'; readonly cidr: CidrModel }
  | { readonly kind: 'destinationPort'; readonly port: number }
  | { readonly kind: 'destinationPortRange'; readonly start: number; readonly end: number }
  | { readonly kind: 'metadata'; readonly metadata: MetadataMatchModel }
  | { readonly kind: 'requestedServerName'; readonly match: StringMatchModel };

/** config.rbac.v3.Principal (the `from`/`when` side: who is asking). */
export type RbacPrincipalModel =
  | { readonly kind: 'any' }
  | { readonly kind: 'and' | 'or'; readonly ids: readonly RbacPrincipalModel[] }
  | { readonly kind: 'not'; readonly id: RbacPrincipalModel }
  /** Verified peer certificate; `match` absent means "any authenticated peer". */
  | { readonly kind: 'authenticated'; readonly match?: StringMatchModel }
  /** source_ip and direct_remote_ip are the connection's peer; remote_ip is the same here (no XFF trust). */
  | { readonly kind: 'directRemoteIp' | 'remoteIp'; readonly cidr: CidrModel }
  | { readonly kind: 'header'; readonly header: HeaderMatchModel }
  | { readonly kind: 'urlPath'; readonly match: StringMatchModel }
  | { readonly kind: 'metadata'; readonly metadata: MetadataMatchModel };

/** config.rbac.v3.Policy: matches when any permission and any principal match. */
export interface RbacPolicyModel {
  readonly name: string;
  readonly permissions: readonly RbacPermissionModel[];
  readonly principals: readonly RbacPrincipalModel[];
}

/** One RBAC HTTP filter (extensions.filters.http.rbac.v3.RBAC). */
export interface RbacFilterModel {
  /** HttpFilter.name (Istio: `envoy.filters.http.rbac`, `…rbac.DENY`). */
  readonly name: string;
  /** `undefined`: the filter has no rules and lets everything through (Envoy's rule). */
  readonly action?: 'ALLOW' | 'DENY' | 'LOG';
  /** Sorted by name, as Envoy orders its policy map. */
  readonly policies: readonly RbacPolicyModel[];
}

/** One filter chain of an inbound listener. */
export interface InboundChainModel {
  readonly name: string;
  /** The chain has a DownstreamTlsContext transport socket. */
  readonly tls: boolean;
  /** DownstreamTlsContext.require_client_certificate (mTLS). */
  readonly requireClientCertificate: boolean;
  /** filter_chain_match.transport_protocol (`tls`, `raw_buffer` or '' for any). */
  readonly transportProtocol: string;
  /** The HCM's RBAC filters in order; other filters (router, fault) are not kept. */
  readonly rbac: readonly RbacFilterModel[];
  /** The HCM's jwt_authn filter (RequestAuthentication), when it has one. */
  readonly jwt?: JwtAuthnModel;
}

/** Istio's PeerAuthentication modes as the chains express them. */
export type InboundMtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

/** A decoded inbound (socket) listener. */
export interface InboundListenerModel {
  readonly address: string;
  readonly port: number;
  readonly chains: readonly InboundChainModel[];
  /** One TLS chain: STRICT; TLS and plaintext chains: PERMISSIVE; plaintext only: DISABLE. */
  readonly mode: InboundMtlsMode;
}
