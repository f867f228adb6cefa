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
  /** This server's address on the connection (destination.ip). */
  localAddress?: string;
  auth?: { principal: string; claims: Record<string, unknown> };
  protocol?: 'http' | 'grpc';
}

/** A request view with one fixed shape, as the adapters build it (a class, not a spread literal). */
class View implements InboundRequestView {
  readonly protocol: 'http' | 'grpc';
  readonly peer: { readonly address: string; readonly port: number; readonly principal?: string };
  readonly tls: boolean;
  readonly sni: string | undefined;
  readonly localPort: number;
  readonly localAddress: string | undefined;
  readonly host: string;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  auth: InboundRequestView['auth'];
  constructor(init: ViewInit, private readonly headers: Record<string, string>) {
    this.protocol = init.protocol ?? 'http';
    this.peer = { address: init.address ?? '10.0.0.1', port: 40000, principal: init.principal };
    this.tls = init.tls ?? init.principal !== undefined;
    this.sni = init.sni;
    this.localPort = init.port ?? 9080;
    this.localAddress = init.localAddress;
    this.host = init.host ?? 'reviews.default.svc.cluster.local';
    this.method = init.method ?? 'GET';
    this.path = init.path ?? '/';
    this.query = init.query ?? '';
    this.auth = init.auth;
  }
  header(name: string): string | undefined {
    return this.headers[name];
  }
}

export function view(init: ViewInit = {}): InboundRequestView {
  return new View(init, init.headers ?? {});
}

export const SA = (ns: string, sa: string): string => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
