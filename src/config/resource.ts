/**
 * Validates one YAML document as a Kubernetes-style Istio resource: the envelope (apiVersion,
 * kind, metadata, spec), then the kind's spec schema. Builds the normalized resource.
 */
import { isMap, isScalar, type Node, type Pair } from './yaml-lib.js';
import { dnsLabelProblem, dnsSubdomainProblem, stringMap } from './schemas/common.js';
import { KINDS } from './schemas/index.js';
import { checkAnnotations } from './annotations.js';
import { errorCount, joinPath, mark, obj, report, str, suggest, type WalkContext } from './schema.js';
import { setFieldSources } from './sources.js';
import type { IstioResource, ObjectMeta, ResourceKind } from './types.js';
import { nodePosition, type YamlDocument } from './yaml.js';

/** Metadata fields Kubernetes adds on its own; accepted and dropped. */
const K8S_METADATA = [
  'uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'selfLink', 'generateName',
  'finalizers', 'ownerReferences', 'deletionTimestamp', 'deletionGracePeriodSeconds',
];

/** The `metadata` schema (exported for the generated configuration reference). */
export const metadataSchema = obj({
  fields: {
    name: str({ check: dnsSubdomainProblem }),
    namespace: str({ check: dnsLabelProblem }),
    labels: stringMap,
    annotations: stringMap,
  },
  ignored: K8S_METADATA,
});

const TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

function field(map: { items: Array<Pair<unknown, unknown>> }, key: string): { pair: Pair<unknown, unknown>; value: Node | null } | undefined {
  for (const pair of map.items) {
    if (isScalar(pair.key) && pair.key.value === key) return { pair, value: (pair.value as Node | null) ?? null };
  }
  return undefined;
}

function scalarString(node: Node | null | undefined): string | undefined {
  return isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
}

/**
 * Turns a YAML document into an {@link IstioResource}, or `undefined` when it has an error (the
 * diagnostics say why). Documents of non-Istio API groups (e.g. a Kubernetes Service in the same
 * file) are skipped with a warning.
 */
export function validateDocument(yd: YamlDocument, ctx: WalkContext, defaultNamespace: string): IstioResource | undefined {
  const before = errorCount(ctx);
  const root = yd.contents;
  mark(ctx, '', root);
  if (!isMap(root)) {
    report(ctx, '', 'MESHLET_ERR_CONFIG_RESOURCE', `document ${yd.index + 1} is not a resource: expected a map with apiVersion, kind, metadata and spec`, { node: root });
    return undefined;
  }
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key !== undefined) mark(ctx, key, pair.key as Node);
    if (key === undefined || !TOP_LEVEL.has(key)) {
      report(ctx, key ?? '', 'MESHLET_ERR_CONFIG_UNKNOWN_FIELD', `unknown top-level field ${JSON.stringify(key ?? '?')}`, { node: (pair.key as Node | null) ?? root });
    }
  }
  const apiVersionField = field(root, 'apiVersion');
  const kindField = field(root, 'kind');
  const apiVersion = scalarString(apiVersionField?.value);
  const kind = scalarString(kindField?.value);
  if (apiVersion === undefined || kind === undefined) {
    const missing = apiVersion === undefined ? 'apiVersion' : 'kind';
    report(ctx, missing, 'MESHLET_ERR_CONFIG_RESOURCE', `missing or non-string ${missing}`, { node: (missing === 'kind' ? kindField : apiVersionField)?.value ?? root });
    return undefined;
  }
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  const info = Object.hasOwn(KINDS, kind) ? KINDS[kind as ResourceKind] : undefined;
  if (!info || info.group !== group || !info.versions.includes(version ?? '')) {
    const istio = (group ?? '').endsWith('istio.io');
    const supported = info ? `${info.group}/${info.versions.join('|')}` : undefined;
    report(
      ctx,
      'kind',
      'MESHLET_ERR_CONFIG_UNKNOWN_KIND',
      istio || info
        ? `unsupported resource ${apiVersion} ${kind}${supported ? ` (${kind} is served as ${supported})` : ''}`
        : `${apiVersion} ${kind} is not an Istio resource; ignored`,
      { node: kindField?.value ?? root, severity: istio || info ? 'error' : 'warning' },
    );
    return undefined;
  }

  const metaField = field(root, 'metadata');
  if (!metaField?.value || !isMap(metaField.value)) {
    report(ctx, 'metadata', 'MESHLET_ERR_CONFIG_RESOURCE', 'missing metadata (a map with at least name)', { node: metaField?.value ?? root });
    return undefined;
  }
  const nameField = field(metaField.value, 'name');
  if (!scalarString(nameField?.value)) {
    report(ctx, 'metadata.name', 'MESHLET_ERR_CONFIG_RESOURCE', 'metadata.name is required (a string)', { node: nameField?.value ?? metaField.value });
    return undefined;
  }
  const metadata = metadataSchema(metaField.value, ctx, 'metadata') as Partial<ObjectMeta> | undefined;
  const name = scalarString(nameField?.value) as string;
  const namespace = metadata?.namespace ?? defaultNamespace;
  ctx.resource = `${kind}/${namespace}/${name}`;

  const specField = field(root, 'spec');
  if (!specField?.value || !isMap(specField.value)) {
    report(ctx, 'spec', 'MESHLET_ERR_CONFIG_RESOURCE', 'spec is required and must be a map', { node: specField?.value ?? root });
    return undefined;
  }
  for (const p of checkAnnotations(kind as ResourceKind, metadata?.annotations, suggest)) {
    report(ctx, joinPath('metadata.annotations', p.key), p.severity === 'error' ? 'MESHLET_ERR_CONFIG_SCHEMA' : 'MESHLET_ERR_CONFIG_UNKNOWN_FIELD', p.message, { severity: p.severity });
  }
  const spec = info.spec(specField.value, ctx, 'spec');
  const valid = errorCount(ctx) === before && spec !== undefined && metadata !== undefined;
  if (!valid && (ctx.partials === undefined || spec === undefined)) return undefined;

  const pos = nodePosition(ctx.lineCounter, kindField?.pair.key as Node) ?? { line: yd.line, column: yd.column };
  const resource = {
    apiVersion,
    kind,
    metadata: { ...(metadata ?? {}), name, namespace },
    spec,
    source: { file: ctx.file, line: pos.line, column: pos.column },
  } as IstioResource;
  setFieldSources(resource, ctx.fields);
  if (valid) return resource;
  ctx.partials?.push(resource);
  return undefined;
}
