/**
 * Authorization fixtures: policies through the real path — control-side translation
 * (control/translate/inbound.ts), protobuf encoding, the client's table-driven decode and
 * validation (xds/resources/listener.ts), the compiled engine — and request views.
 */
import type { AuthorizationPolicy, IstioResource, PeerAuthentication } from '../../src/config/types.js';
import type { InboundRequestView } from '../../src/core/inbound.js';
import { inboundListener } from '../../src/control/translate/inbound.js';
import { decodeListener, validateListener } from '../../src/xds/resources/listener.js';
import { TYPE_URL } from '../../src/xds/type-urls.js';
import { AuthzEngine } from '../../src/security/authz/index.js';
import type { InboundListenerModel } from '../../src/core/model/index.js';
import { encode } from './xds-resources.js';

export function policy(name: string, spec: AuthorizationPolicy['spec'], namespace = 'default'): AuthorizationPolicy {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace }, spec };
}

export function peerAuthn(name: string, spec: PeerAuthentication['spec'], namespace = 'default'): PeerAuthentication {
  return { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name, namespace }, spec };
}

/** Translate → encode → decode → validate one inbound listener; throws with the NACK errors. */
export function inboundModel(resources: IstioResource[], port = 9080, workload = { namespace: 'default', labels: { app: 'reviews' } as Record<string, string> }): InboundListenerModel {
  const name = `xds.istio.io/grpc/lds/inbound/0.0.0.0:${port}`;
  const gen = inboundListener(name, resources, workload);
  if (!gen) throw new Error('no listener generated');
  const r = validateListener(decodeListener(encode(TYPE_URL.listener, gen.message)));
  if (!r.ok) throw new Error(`NACK: ${r.errors.join('; ')}`);
  if (!r.model.inbound) throw new Error('not an inbound listener');
  return r.model.inbound;
}

export function engineFor(resources: IstioResource[], port = 9080, labels: Record<string, string> = { app: 'reviews' }, namespace = 'default'): AuthzEngine {
  return AuthzEngine.compile([inboundModel(resources, port, { namespace, labels })]);
}

export interface ViewInit {
  method?: string;
  path?: string;
  query?: string;
  host?: string;
  headers?: Record<string, string>;
  principal?: string;
  address?: string;
  tls?: boolean;
  sni?: string;
  port?: number;
  auth?: { principal: string; claims: Record<string, unknown> };
  protocol?: 'http' | 'grpc';
}

export function view(init: ViewInit = {}): InboundRequestView {
  const headers = init.headers ?? {};
  const v: InboundRequestView = {
    protocol: init.protocol ?? 'http',
    peer: { address: init.address ?? '10.0.0.1', port: 40000, ...(init.principal ? { principal: init.principal } : {}) },
    tls: init.tls ?? init.principal !== undefined,
    ...(init.sni ? { sni: init.sni } : {}),
    localPort: init.port ?? 9080,
    host: init.host ?? 'reviews.default.svc.cluster.local',
    method: init.method ?? 'GET',
    path: init.path ?? '/',
    query: init.query ?? '',
    header: (name) => headers[name],
    ...(init.auth ? { auth: init.auth } : {}),
  };
  return v;
}

export const SA = (ns: string, sa: string): string => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
