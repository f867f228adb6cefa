/**
 * Generates docs/configuration.md, the configuration reference, from the schemas the loader
 * validates with (src/config/schemas, described through src/config/schema-meta.ts): every field of
 * every kind, its type and bounds, and whether meshlet applies it, ignores it with a warning
 * (`ObjectSpec.unsupported`) or rejects it (`ObjectSpec.rejected`). test/unit/docs-config.test.ts
 * fails when the committed file differs from what this prints, so the two cannot drift.
 *
 *   node --import tsx scripts/gen-config-docs.ts          # rewrite docs/configuration.md
 *   node --import tsx scripts/gen-config-docs.ts --check  # exit 1 when it is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KINDS } from '../src/config/schemas/index.js';
import { ANNOTATIONS } from '../src/config/annotations.js';
import { metadataSchema } from '../src/config/resource.js';
import { schemaInfo } from '../src/config/schema-meta.js';
import type { Schema } from '../src/config/schema.js';

const OUT = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));

/** What a kind as a whole does on main, beyond its fields (kept short and factual). */
const KIND_NOTES: Record<string, string> = {
  VirtualService: 'Routes HTTP and gRPC calls of every mesh client (`mesh.fetch`, `mesh.dispatcher`, `mesh:///` gRPC channels) and of stock `@grpc/grpc-js-xds` clients. A match entry naming `gateways` other than `mesh` does not route mesh traffic.',
  DestinationRule: 'Subsets and traffic policies of the clusters a host\'s routes point at; `portLevelSettings` and subset policies override the top level as in Istio.',
  ServiceEntry: 'Services and endpoints outside what meshes announce (`resolution: STATIC` endpoints, `DNS` as LOGICAL_DNS clusters, WorkloadEntries by `workloadSelector`).',
  WorkloadEntry: 'An endpoint a ServiceEntry selects by `workloadSelector.labels`.',
  Gateway: 'Served by `meshlet gateway` / `createGateway()` (meshlet-node/gateway) for gateway processes whose labels match `selector`; VirtualServices bound to it with `gateways:` route there (and only there unless `mesh` is listed). HTTP and HTTPS servers over HTTP/1.1 (SIMPLE, MUTUAL, credentialName, httpsRedirect); TLS PASSTHROUGH servers routed by SNI and TCP servers (VirtualService `tls:` / `tcp:` routes); HTTP/2 and gRPC through the gateway and ISTIO_MUTUAL servers are not served yet.',
  PeerAuthentication: 'The inbound mTLS mode of `mesh.listen` and `mesh.grpc` servers (STRICT, PERMISSIVE on one port, DISABLE); the root namespace (`istio-system`) holds the mesh-wide policy.',
  AuthorizationPolicy: 'Envoy RBAC filters in each selected workload\'s inbound listener, enforced for HTTP and gRPC servers (AUDIT, DENY, ALLOW; CUSTOM denies: there is no external authorizer).',
  RequestAuthentication: 'Envoy `jwt_authn` config in each selected workload\'s inbound listener, verified in the process before authorization.',
};

function typeOf(s: Schema): string {
  const i = schemaInfo(s);
  if (!i) return 'integer 0–100 (route weight)';
  switch (i.type) {
    case 'string': return i.nonEmpty ? 'string (non-empty)' : 'string';
    case 'integer':
    case 'number': {
      const range = i.min !== undefined && i.max !== undefined ? ` ${i.min}–${i.max}` : i.min !== undefined ? ` ≥ ${i.min}` : i.max !== undefined ? ` ≤ ${i.max}` : '';
      return i.type + range;
    }
    case 'boolean': return 'boolean';
    case 'enum': return i.values.map((v) => `\`${v}\``).join(' \\| ');
    case 'duration': return i.min ? `duration ≥ ${i.min} ms` : 'duration';
    case 'list': return `list of ${typeOf(i.item)}${i.nonEmpty ? ' (non-empty)' : ''}`;
    case 'map': return `map of string → ${typeOf(i.value)}`;
    case 'object': return 'object';
  }
}

interface Row { path: string; type: string; status: string }

/** The object a field's value ends in (through lists and maps), if it is one. */
function objectOf(s: Schema): Schema | undefined {
  const i = schemaInfo(s);
  if (i?.type === 'list') return objectOf(i.item);
  if (i?.type === 'map') return objectOf(i.value);
  return i?.type === 'object' ? s : undefined;
}

function suffix(s: Schema): string {
  const i = schemaInfo(s);
  if (i?.type === 'list') return '[]' + suffix(i.item);
  if (i?.type === 'map') return '.<key>' + suffix(i.value);
  return '';
}

function rows(schema: Schema, prefix: string, seen: Map<Schema, string>, inherited: string | undefined, out: Row[]): void {
  const info = schemaInfo(schema);
  if (info?.type !== 'object') return;
  const { spec } = info;
  for (const [name, field] of Object.entries(spec.fields)) {
    const path = prefix ? `${prefix}.${name}` : name;
    const notes: string[] = [];
    let status = inherited ?? 'applied';
    if (spec.rejected?.[name]) status = `**rejected**: ${spec.rejected[name]}`;
    else if (spec.unsupported?.[name]) status = `**not applied** (warning): ${spec.unsupported[name]}`;
    else if (spec.deprecated?.[name]) status = `deprecated (still applied): use ${spec.deprecated[name]}`;
    if (spec.notes?.[name]) notes.push(spec.notes[name]);
    if (spec.required?.includes(name)) notes.push('required');
    for (const g of spec.oneOf ?? []) {
      if (g.fields.includes(name)) notes.push(`${g.required ? 'exactly' : 'at most'} one of ${g.fields.map((f) => `\`${f}\``).join(', ')}`);
    }
    const child = objectOf(field);
    const full = path + suffix(field);
    const first = child ? seen.get(child) : undefined;
    if (first) notes.push(`fields as \`${first}\``);
    out.push({ path: full, type: typeOf(field), status: [status, ...notes].join('; ') });
    if (child && !first) {
      seen.set(child, full);
      const childInherited = status.startsWith('**') ? `not applied (see \`${full}\`)` : inherited;
      rows(child, full, seen, childInherited, out);
    }
  }
}

function table(schema: Schema, prefix: string): string {
  const out: Row[] = [];
  rows(schema, prefix, new Map(), undefined, out);
  return ['| field | type | meshlet |', '| --- | --- | --- |', ...out.map((r) => `| \`${r.path}\` | ${r.type} | ${r.status} |`)].join('\n');
}

/** The whole reference page. */
export function renderConfigDocs(): string {
  const parts: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated by scripts/gen-config-docs.ts from src/config/schemas; do not edit by hand.',
    '     `node --import tsx scripts/gen-config-docs.ts` rewrites it; test/unit/docs-config.test.ts checks it. -->',
    '',
    'meshlet reads Istio\'s own YAML. This page lists every field of every kind it reads, generated',
    'from the schemas the loader validates with, and what meshlet does with each:',
    '',
    '- **applied** — validated and turned into the xDS meshlet sends (and the data plane enforces);',
    '- **not applied** (warning) — valid Istio, validated, but without effect in meshlet; loading it',
    '  reports a `MESHLET_ERR_CONFIG_UNSUPPORTED` warning at its file:line, and the resource is kept;',
    '- **rejected** — an error (`MESHLET_ERR_CONFIG_SCHEMA`), as Istio\'s own webhook rejects it; the',
    '  resource is left out;',
    '- deprecated — still applied, with a `MESHLET_ERR_CONFIG_DEPRECATED` warning naming the new field.',
    '',
    'A field not listed is an error (`MESHLET_ERR_CONFIG_UNKNOWN_FIELD`, with a "did you mean").',
    'The children of a field that is not applied are validated but not applied either. Paths use',
    '`[]` for list items and `<key>` for map keys. Check a file with `meshlet analyze -f FILE`.',
    '',
    '## Every resource',
    '',
    'Each YAML document is `apiVersion`, `kind`, `metadata`, `spec` (and an ignored `status`).',
    '`metadata.namespace` defaults to `default`. Kubernetes-managed metadata fields',
    '(`uid`, `resourceVersion`, `managedFields`, …) are accepted and dropped.',
    '',
    table(metadataSchema, 'metadata'),
    '',
    '### meshlet annotations',
    '',
    'meshlet\'s own knobs, as `meshlet.io/…` annotations so the YAML stays valid for Istio. A value',
    'outside the listed ones is an error; an unknown `meshlet.io/` name, or one on another kind, a',
    'warning.',
    '',
    '| annotation | kinds | values |',
    '| --- | --- | --- |',
    ...Object.entries(ANNOTATIONS).map(([name, a]) => `| \`${name}\` | ${a.kinds.join(', ')} | ${a.values.map((v) => `\`"${v}"\``).join(', ')} |`),
  ];
  for (const [kind, info] of Object.entries(KINDS)) {
    parts.push('', `## ${kind}`, '', `\`${info.group}\` ${info.versions.map((v) => `\`${v}\``).join(', ')}. ${KIND_NOTES[kind] ?? ''}`.trimEnd(), '', table(info.spec, 'spec'));
  }
  return parts.join('\n') + '\n';
}

const invoked = process.argv[1] !== undefined && /gen-config-docs\.[cm]?[jt]s$/.test(process.argv[1]);
if (invoked) {
  const text = renderConfigDocs();
  if (process.argv.includes('--check')) {
    let current = '';
    try { current = readFileSync(OUT, 'utf8'); } catch { /* missing counts as stale */ }
    if (current !== text) {
      process.stderr.write('docs/configuration.md is out of date: run node --import tsx scripts/gen-config-docs.ts\n');
      process.exitCode = 1;
    }
  } else {
    writeFileSync(OUT, text);
  }
}
