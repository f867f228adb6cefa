/**
 * The kinds meshlet accepts: API group, served versions and the `spec` schema of each.
 */
import type { ResourceKind } from '../types.js';
import type { Schema } from '../schema.js';
import { destinationRuleSpec } from './destination-rule.js';
import { gatewaySpec } from './gateway.js';
import { authorizationPolicySpec, peerAuthenticationSpec, requestAuthenticationSpec } from './security.js';
import { serviceEntrySpec, workloadEntrySpec } from './service-entry.js';
import { virtualServiceSpec } from './virtual-service.js';
import { telemetrySpec } from './telemetry.js';

export interface KindInfo {
  group: string;
  versions: readonly string[];
  spec: Schema;
}

const NETWORKING = { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'] } as const;
const SECURITY = { group: 'security.istio.io', versions: ['v1', 'v1beta1'] } as const;

/** Kind → group, versions and spec schema. */
export const KINDS: Readonly<Record<ResourceKind, KindInfo>> = {
  VirtualService: { ...NETWORKING, spec: virtualServiceSpec },
  DestinationRule: { ...NETWORKING, spec: destinationRuleSpec },
  ServiceEntry: { ...NETWORKING, spec: serviceEntrySpec },
  WorkloadEntry: { ...NETWORKING, spec: workloadEntrySpec },
  Gateway: { ...NETWORKING, spec: gatewaySpec },
  PeerAuthentication: { ...SECURITY, spec: peerAuthenticationSpec },
  AuthorizationPolicy: { ...SECURITY, spec: authorizationPolicySpec },
  RequestAuthentication: { ...SECURITY, spec: requestAuthenticationSpec },
  Telemetry: { group: 'telemetry.istio.io', versions: ['v1', 'v1alpha1'], spec: telemetrySpec },
};
