/**
 * Load-balancing policy of a Cluster: the typed `load_balancing_policy` list (what our control
 * server emits, since grpc-js-xds only honours that) wins over the legacy `lb_policy` enum, as
 * in Envoy. The first policy in the list meshlet supports is used; wrr_locality is unwrapped.
 */
import type { LbPolicy } from '../../core/model/index.js';
import { decodeAny, wrapped } from './common.js';
import type { ClusterProto, LoadBalancingPolicyProto, UInt32Proto, UInt64Proto } from './proto-types.js';

const PREFIX = 'type.googleapis.com/envoy.extensions.load_balancing_policies.';
const URL = {
  roundRobin: `${PREFIX}round_robin.v3.RoundRobin`,
  leastRequest: `${PREFIX}least_request.v3.LeastRequest`,
  random: `${PREFIX}random.v3.Random`,
  ringHash: `${PREFIX}ring_hash.v3.RingHash`,
  maglev: `${PREFIX}maglev.v3.Maglev`,
  wrrLocality: `${PREFIX}wrr_locality.v3.WrrLocality`,
} as const;

/** Envoy's ring size bounds and defaults. */
const RING_MIN_DEFAULT = 1024;
const RING_MAX_DEFAULT = 8_388_608;
const MAGLEV_TABLE_DEFAULT = 65_537;
const CHOICE_COUNT_DEFAULT = 2;
/** Nested wrr_locality is legal but pointless; bound it like grpc-js-xds does. */
const MAX_DEPTH = 16;

/** The LB-related fields of {@link ClusterModel}. */
export interface LbSettings {
  lbPolicy: LbPolicy;
  localityWeighted: boolean;
  ringHash?: { minRingSize: number; maxRingSize: number };
  choiceCount?: number;
  maglevTableSize?: number;
}

function ringHash(min: UInt64Proto | undefined, max: UInt64Proto | undefined, hashFunction: string | undefined, path: string, errors: string[]): LbSettings {
  const minRingSize = wrapped(min, RING_MIN_DEFAULT);
  const maxRingSize = wrapped(max, RING_MAX_DEFAULT);
  if (maxRingSize > RING_MAX_DEFAULT) errors.push(`${path}.maximum_ring_size: ${maxRingSize} exceeds ${RING_MAX_DEFAULT}`);
  if (minRingSize < 1 || minRingSize > maxRingSize) errors.push(`${path}.minimum_ring_size: ${minRingSize} is not in [1, maximum_ring_size ${maxRingSize}]`);
  // DEFAULT_HASH and XX_HASH are both xxHash64; MurmurHash2 would hash to other hosts than peers.
  if (hashFunction !== undefined && hashFunction !== 'XX_HASH' && hashFunction !== 'DEFAULT_HASH') {
    errors.push(`${path}.hash_function: ${hashFunction} not supported (use XX_HASH)`);
  }
  return { lbPolicy: 'RING_HASH', localityWeighted: false, ringHash: { minRingSize, maxRingSize } };
}

function choiceCount(v: UInt32Proto | undefined, path: string, errors: string[]): number {
  const n = wrapped(v, CHOICE_COUNT_DEFAULT);
  if (n < 2) errors.push(`${path}.choice_count: ${n} is below 2`);
  return n;
}

function fromPolicyList(lbp: LoadBalancingPolicyProto, path: string, errors: string[], depth: number): LbSettings | undefined {
  if (depth > MAX_DEPTH) {
    errors.push(`${path}: nested deeper than ${MAX_DEPTH}`);
    return undefined;
  }
  const seen: string[] = [];
  for (const [i, candidate] of (lbp.policies ?? []).entries()) {
    const any = candidate.typed_extension_config?.typed_config;
    const p = `${path}.policies[${i}].typed_extension_config.typed_config`;
    const typeUrl = any?.type_url ?? '';
    seen.push(typeUrl);
    switch (typeUrl) {
      case URL.roundRobin: return { lbPolicy: 'ROUND_ROBIN', localityWeighted: false };
      case URL.random: return { lbPolicy: 'RANDOM', localityWeighted: false };
      case URL.leastRequest: {
        const msg = decodeAny<{ choice_count?: UInt32Proto }>(any, typeUrl, p, errors);
        return msg ? { lbPolicy: 'LEAST_REQUEST', localityWeighted: false, choiceCount: choiceCount(msg.choice_count, p, errors) } : undefined;
      }
      case URL.ringHash: {
        const msg = decodeAny<{ minimum_ring_size?: UInt64Proto; maximum_ring_size?: UInt64Proto; hash_function?: string }>(any, typeUrl, p, errors);
        return msg ? ringHash(msg.minimum_ring_size, msg.maximum_ring_size, msg.hash_function, p, errors) : undefined;
      }
      case URL.maglev: {
        const msg = decodeAny<{ table_size?: UInt64Proto }>(any, typeUrl, p, errors);
        return msg ? { lbPolicy: 'MAGLEV', localityWeighted: false, maglevTableSize: wrapped(msg.table_size, MAGLEV_TABLE_DEFAULT) } : undefined;
      }
      case URL.wrrLocality: {
        const msg = decodeAny<{ endpoint_picking_policy?: LoadBalancingPolicyProto }>(any, typeUrl, p, errors);
        if (!msg) return undefined;
        const inner = fromPolicyList(msg.endpoint_picking_policy ?? {}, `${p}.endpoint_picking_policy`, errors, depth + 1);
        return inner ? { ...inner, localityWeighted: true } : undefined;
      }
      default:
        // Unknown (or unsupported, like pick_first): try the next candidate, as the xDS spec says.
        break;
    }
  }
  errors.push(`${path}: no supported policy among [${seen.join(', ')}]`);
  return undefined;
}

/** Reads the cluster's LB settings, pushing errors with field paths. */
export function lbSettings(c: ClusterProto, errors: string[]): LbSettings | undefined {
  if (c.load_balancing_policy) return fromPolicyList(c.load_balancing_policy, 'load_balancing_policy', errors, 0);
  const localityWeighted = c.common_lb_config?.locality_config_specifier === 'locality_weighted_lb_config';
  const policy = c.lb_policy ?? 'ROUND_ROBIN';
  switch (policy) {
    case 'ROUND_ROBIN':
    case 'RANDOM':
      return { lbPolicy: policy, localityWeighted };
    case 'LEAST_REQUEST':
      return { lbPolicy: policy, localityWeighted, choiceCount: choiceCount(c.least_request_lb_config?.choice_count, 'least_request_lb_config', errors) };
    case 'RING_HASH': {
      const rh = c.ring_hash_lb_config;
      return { ...ringHash(rh?.minimum_ring_size, rh?.maximum_ring_size, rh?.hash_function, 'ring_hash_lb_config', errors), localityWeighted };
    }
    case 'MAGLEV':
      return { lbPolicy: policy, localityWeighted, maglevTableSize: wrapped(c.maglev_lb_config?.table_size, MAGLEV_TABLE_DEFAULT) };
    default:
      errors.push(`lb_policy: ${policy} not supported`);
      return undefined;
  }
}
