/**
 * Istio configuration: YAML loading with file:line diagnostics, schema validation, host
 * semantics, and cross-resource analysis.
 */
export { parseConfig, loadConfigPath } from './load.js';
export type { ParseOptions, ParseResult, LoadResult } from './load.js';
export { analyze } from './analyze.js';
export type { AnalyzeContext } from './analyze.js';
export { formatDiagnostic, hasErrors } from './format.js';
export { fieldSource } from './sources.js';
export { parseDuration, formatDuration } from './duration.js';
export { resolveHost, hostAliases, hostMatches, isWildcardHost } from './hosts.js';
export { parseYaml } from './yaml.js';
export type { YamlDocument, YamlFile } from './yaml.js';
export { RESOURCE_KINDS, resourceKey } from './types.js';
export type * from './types.js';
