/**
 * The HTTP filter chain's runtime side (Envoy's filter implementation, next to the config
 * factory in src/xds/resources/filters.ts): each filter of a listener's http_filters is
 * compiled once per snapshot from its validated config and then run, in the listener's order,
 * for every request — outbound while the call plan is built, inbound as a stage of the policy.
 */
import type { InboundStage } from '../../security/inbound-policy.js';
import type { FilterConfigModel, RouteModel, WeightedClusterModel } from '../model/index.js';
import type { PlanFields } from '../plan.js';
import type { RequestView } from '../request.js';

/** What an outbound filter sees while a forwarded request's plan is built. */
export interface ForwardContext {
  readonly req: RequestView;
  readonly random: () => number;
  /** The matched route (its per-filter overrides folded with its virtual host's). */
  readonly route: RouteModel;
  /** The weighted cluster picked, when the route splits traffic (its overrides win). */
  readonly weighted: WeightedClusterModel | undefined;
}

/** One filter of a listener, compiled. Every hook is optional. */
export interface CompiledHttpFilter {
  /** The filter's name in the listener (`envoy.filters.http.fault`). */
  readonly name: string;
  /** Outbound: adjusts the plan of a forwarded request (fault rolls its dice here). */
  onForward?(ctx: ForwardContext, plan: PlanFields): void;
  /** Inbound listeners: the stage this filter adds to the inbound policy (RBAC, JWT). */
  readonly inbound?: { readonly stage: InboundStage; readonly phase: number };
}

/**
 * The runtime of one filter kind: builds the compiled filter from the validated config of the
 * listener's entry (and knows nothing of protobuf).
 */
export interface HttpFilterRuntime<C extends FilterConfigModel = FilterConfigModel> {
  /** The filter config's type URL (what the listener's typed_config names). */
  readonly typeUrl: string;
  compile(name: string, config: C): CompiledHttpFilter | undefined;
}
