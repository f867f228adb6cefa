/**
 * meshlet's `node:diagnostics_channel` channels. Subscribe from anywhere in the process (APMs,
 * loggers, tests); a channel with no subscriber costs one property check where it is published.
 * Names are process-global, so the ESM and CJS copies of the package publish on the same ones.
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel';
 * diagnostics_channel.subscribe('meshlet:request:end', (r) => console.log(r.host, r.status, r.flags));
 * ```
 */
import diagnostics_channel from 'node:diagnostics_channel';

/** The channel names (the public contract; README lists each message's shape). */
export const CHANNEL_NAMES = {
  /** An outbound HTTP request entered the mesh dispatcher: `{ method, origin, path }`. */
  requestStart: 'meshlet:request:start',
  /** An outbound HTTP request or gRPC call ended: the `RequestRecord` (`GrpcRequestRecord` for gRPC). */
  requestEnd: 'meshlet:request:end',
  /** xDS resources changed: `{ node, typeUrl, version, names }`. */
  configUpdate: 'meshlet:config:update',
  /** The mesh rejected an xDS response: `{ node, typeUrl, nonce, errorDetail }`. */
  nack: 'meshlet:xds:nack',
  /** The control plane could not be reached before any config arrived: `{ node, controlPlane, code, reason }`. */
  controlPlaneUnreachable: 'meshlet:control-plane:unreachable',
} as const;

export const channels = {
  requestStart: diagnostics_channel.channel(CHANNEL_NAMES.requestStart),
  requestEnd: diagnostics_channel.channel(CHANNEL_NAMES.requestEnd),
  configUpdate: diagnostics_channel.channel(CHANNEL_NAMES.configUpdate),
  nack: diagnostics_channel.channel(CHANNEL_NAMES.nack),
  controlPlaneUnreachable: diagnostics_channel.channel(CHANNEL_NAMES.controlPlaneUnreachable),
};
