/**
 * The short names a service answers to (shared by LDS listener names and RDS virtual-host
 * domains, so both generators import it from here rather than from each other).
 */
import type { ServiceModel } from '../model.js';
import { bareOwnerOf, type TranslateContext } from './context.js';
import { shortAliases } from './names.js';

/**
 * Short names every listener of `service` answers to, besides its hostname, with and without
 * port: the same list serves as virtual-host domains in RDS.
 */
export function serviceAliases(ctx: TranslateContext, service: ServiceModel): string[] {
  const k8s = shortAliases(service.hostname, ctx.domainSuffix);
  if (!k8s) return [];
  const [bare, ...qualified] = k8s.aliases;
  return bareOwnerOf(ctx, k8s.name) === service.hostname && bare !== undefined ? [bare, ...qualified] : qualified;
}
