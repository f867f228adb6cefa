/**
 * Announcing a gRPC server's port to the control server. The mesh owns its xDS node, so the
 * preferred path is a hook the mesh provides (`announcePort`); without one, the port is merged
 * into the node metadata the xDS client already sends (`MESHLET_PORTS`), which holds until the
 * mesh itself re-announces (for instance when it starts another HTTP listener).
 */
import type { XdsClient } from '../xds/ads-client.js';
import type { Disposable } from '../internal/events.js';
import { NODE_METADATA, type NodePort } from '../xds/node.js';
import { jsonToStruct, structToJson } from '../xds/struct.js';

/** Announces one port; dispose to withdraw it. */
export type AnnouncePort = (port: NodePort) => Disposable;

function samePort(a: unknown, p: NodePort): boolean {
  if (typeof a !== 'object' || a === null) return false;
  const o = a as Record<string, unknown>;
  return o['number'] === p.number && (o['targetPort'] ?? o['number']) === (p.targetPort ?? p.number) && o['protocol'] === p.protocol;
}

function rewritePorts(xds: XdsClient, edit: (ports: unknown[]) => unknown[]): void {
  const meta = structToJson(xds.node.metadata);
  const current = meta[NODE_METADATA.ports];
  const ports = edit(Array.isArray(current) ? [...current] : []);
  const next: Record<string, unknown> = { ...meta };
  if (ports.length > 0) next[NODE_METADATA.ports] = ports;
  else delete next[NODE_METADATA.ports];
  xds.updateNode({ metadata: jsonToStruct(next) });
}

/**
 * The fallback announcer: edits `MESHLET_PORTS` in the xDS client's node.
 *
 * @example
 * ```ts
 * const handle = nodeAnnouncer(mesh.xds)({ number: 9090, name: 'grpc', protocol: 'GRPC', targetPort: 40123 });
 * handle.dispose(); // withdraws it
 * ```
 */
export function nodeAnnouncer(xds: XdsClient): AnnouncePort {
  return (port) => {
    const entry: Record<string, unknown> = { number: port.number, protocol: port.protocol ?? 'GRPC' };
    if (port.name) entry['name'] = port.name;
    if (port.targetPort !== undefined && port.targetPort !== port.number) entry['targetPort'] = port.targetPort;
    const announced = { ...port, protocol: port.protocol ?? 'GRPC' };
    rewritePorts(xds, (ports) => [...ports.filter((p) => !samePort(p, announced)), entry]);
    let disposed = false;
    return {
      dispose: () => {
        if (disposed) return;
        disposed = true;
        rewritePorts(xds, (ports) => ports.filter((p) => !samePort(p, announced)));
      },
    };
  };
}
