/** Picker factory by Envoy lb_policy. */
import type { LbPolicy } from '../model/index.js';
import type { Host } from './host.js';
import { leastRequest } from './least-request.js';
import { maglev } from './maglev.js';
import { randomPicker } from './random.js';
import { ringHash } from './ring-hash.js';
import { roundRobin } from './round-robin.js';
import type { Picker, PickerOptions } from './types.js';

/** Builds the picker for a policy over a fixed host list. */
export function buildPicker(policy: LbPolicy, hosts: readonly Host[], options: PickerOptions): Picker {
  switch (policy) {
    case 'ROUND_ROBIN':
      return roundRobin(hosts, options);
    case 'LEAST_REQUEST':
      return leastRequest(hosts, options);
    case 'RANDOM':
      return randomPicker(hosts, options);
    case 'RING_HASH':
      return ringHash(hosts, options);
    case 'MAGLEV':
      return maglev(hosts, options);
  }
}

/** Consistent-hash policies read the request hash. */
export function isHashPolicy(policy: LbPolicy): boolean {
  return policy === 'RING_HASH' || policy === 'MAGLEV';
}

export { Host } from './host.js';
export type { Picker, PickerOptions } from './types.js';
