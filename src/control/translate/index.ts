// CONTRACT (to be implemented by the translate work): see the helper brief in the commit log.
import type { IstioResource } from '../../config/types.js';
import type { ServiceModel } from '../model.js';
import type { ResourceTypeUrl } from '../../xds/type-urls.js';

/** Input to translation: validated config plus the registry's services. */
export interface TranslateInput {
  resources: readonly IstioResource[];
  services: readonly ServiceModel[];
  domainSuffix?: string;
}

/** One xDS resource as a plain object ready for protobufjs `Type.fromObject` (snake_case field names). */
export interface GeneratedResource {
  name: string;
  /** Plain object of the resource message (not wrapped in Any). */
  message: Record<string, unknown>;
}

/** Output: resources per type URL. The snapshot cache encodes them once and versions them. */
export type TranslateOutput = Map<ResourceTypeUrl, GeneratedResource[]>;

export declare function translate(input: TranslateInput): TranslateOutput;
