/**
 * The fault filter's runtime: on a forwarded request it rolls the most specific fault config —
 * the weighted cluster's override, then the route's (folded with its virtual host's), then the
 * filter's own — as Envoy's `FaultFilter` resolves `typed_per_filter_config`.
 */
import type { FaultModel, FilterConfigModel } from '../model/index.js';
import { rollFault } from './fault-roll.js';
import type { CompiledHttpFilter, HttpFilterRuntime } from './types.js';

/** envoy.extensions.filters.http.fault.v3.HTTPFault */
export const FAULT_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

type FaultConfig = Extract<FilterConfigModel, { kind: 'fault' }>;

/** The `fault` kind's runtime. */
export const faultFilter: HttpFilterRuntime<FaultConfig> = {
  typeUrl: FAULT_TYPE_URL,
  compile(name: string, config: FaultConfig): CompiledHttpFilter {
    // Only a `fault` config reaches here (the decoder for this type URL makes it).
    const own: FaultModel = config.fault;
    return {
      name,
      onForward(ctx, plan) {
        const fm = ctx.weighted?.fault ?? ctx.route.fault ?? own;
        const rolled = rollFault(fm, ctx.req, ctx.random);
        if (rolled) plan.fault = rolled;
      },
    };
  },
};
