// CONTRACT (implemented by the xDS client work): node metadata announcement, shared by client and server.
import type { Announcement } from '../control/model.js';

/**
 * Metadata keys a mesh client puts in its xDS `Node.metadata` (a google.protobuf.Struct).
 * NAMESPACE, LABELS, SERVICE_ACCOUNT and INSTANCE_IPS follow Istio's proxy metadata names.
 */
export const NODE_METADATA = {
  service: 'MESHLET_SERVICE',
  namespace: 'NAMESPACE',
  labels: 'LABELS',
  serviceAccount: 'SERVICE_ACCOUNT',
  instanceIps: 'INSTANCE_IPS',
  ports: 'MESHLET_PORTS',
  draining: 'MESHLET_DRAINING',
} as const;

export declare function parseAnnouncement(node: Record<string, unknown> | null | undefined): Announcement | undefined;
