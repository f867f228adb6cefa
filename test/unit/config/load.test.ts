import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MeshError } from '../../../src/errors.js';
import { fieldSource, formatDiagnostic, loadConfigPath, parseConfig } from '../../../src/config/index.js';

const good = (name: string) => `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: ${name}
spec:
  host: ${name}
`;

describe('parseConfig', () => {
  it('keeps the valid siblings of a bad document', () => {
    const text = `${good('a')}---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: b
spec:
  host: b
  trafficPolicy:
    loadBalancer:
      simple: FASTEST
---
${good('c')}---
`;
    const { resources, diagnostics } = parseConfig(text, 'multi.yaml');
    assert.deepEqual(resources.map((r) => r.metadata.name), ['a', 'c']);
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0]?.line, 16);
    assert.equal(diagnostics[0]?.resource, 'DestinationRule/default/b');
    assert.deepEqual(resources[1]?.source, { file: 'multi.yaml', line: 19, column: 1 });
  });

  it('keeps the valid siblings of a document with a YAML syntax error', () => {
    const text = `${good('a')}---
kind: [oops
---
${good('c')}`;
    const { resources, diagnostics } = parseConfig(text, 'syntax.yaml');
    assert.deepEqual(resources.map((r) => r.metadata.name), ['a', 'c']);
    assert.ok(diagnostics.every((d) => d.code === 'MESHLET_ERR_CONFIG_YAML' && d.file === 'syntax.yaml' && d.line !== undefined));
    assert.ok(diagnostics.length >= 1);
  });

  it('ignores empty documents and comment-only documents', () => {
    const { resources, diagnostics } = parseConfig(`---\n# nothing\n---\n${good('a')}---\n---\n`, 'e.yaml');
    assert.equal(resources.length, 1);
    assert.deepEqual(diagnostics, []);
  });

  it('defaults the namespace, keeps an explicit one, ignores Kubernetes-managed metadata and status', () => {
    const text = `${good('a')}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: b
  namespace: prod
  uid: 0d3c
  resourceVersion: "42"
  generation: 3
  creationTimestamp: "2024-01-01T00:00:00Z"
  managedFields: [{manager: kubectl}]
  labels: {team: x}
  annotations: {note: y}
spec:
  host: b
status:
  conditions: []
`;
    const { resources, diagnostics } = parseConfig(text, 'ns.yaml', { defaultNamespace: 'bookinfo' });
    assert.deepEqual(diagnostics, []);
    assert.equal(resources[0]?.metadata.namespace, 'bookinfo');
    assert.deepEqual(resources[1]?.metadata, { name: 'b', namespace: 'prod', labels: { team: 'x' }, annotations: { note: 'y' } });
    assert.equal('status' in (resources[1] as object), false);
  });

  it('skips non-Istio kinds with a warning, rejects a non-map document and unknown top-level fields', () => {
    const text = `apiVersion: v1
kind: Service
metadata: {name: reviews}
spec: {ports: [{port: 9080}]}
---
- just a list
---
${good('a')}extra: 1
`;
    const { resources, diagnostics } = parseConfig(text, 'mixed.yaml');
    assert.equal(resources.length, 0);
    const codes = diagnostics.map((d) => `${d.severity} ${d.code} ${d.line}`);
    assert.deepEqual(codes, [
      'warning MESHLET_ERR_CONFIG_UNKNOWN_KIND 2',
      'error MESHLET_ERR_CONFIG_RESOURCE 6',
      'error MESHLET_ERR_CONFIG_UNKNOWN_FIELD 14',
    ]);
  });

  it('normalizes deprecated fields into their modern form, with warnings', () => {
    const text = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: r}
spec:
  hosts: [r]
  http:
  - mirror: {host: r, subset: v2}
    mirrorPercent: 10
    fault:
      delay: {fixedDelay: 1.5s, percent: 5, percentage: {value: 0.5}}
    route:
    - destination: {host: r}
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: r}
spec:
  host: r
  trafficPolicy:
    loadBalancer:
      consistentHash: {httpHeaderName: x-user, minimumRingSize: 1024}
    outlierDetection: {consecutiveErrors: 7, interval: 10s}
`;
    const { resources, diagnostics } = parseConfig(text, 'dep.yaml');
    assert.equal(resources.length, 2, diagnostics.map(formatDiagnostic).join('\n'));
    assert.deepEqual(diagnostics.map((d) => `${d.severity} ${d.code} ${d.path}`), [
      'warning MESHLET_ERR_CONFIG_DEPRECATED spec.http[0].mirrorPercent',
      'warning MESHLET_ERR_CONFIG_DEPRECATED spec.http[0].fault.delay.percent',
      'warning MESHLET_ERR_CONFIG_DEPRECATED spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize',
      'warning MESHLET_ERR_CONFIG_DEPRECATED spec.trafficPolicy.outlierDetection.consecutiveErrors',
    ]);
    const [vs, dr] = resources;
    assert.ok(vs?.kind === 'VirtualService' && dr?.kind === 'DestinationRule');
    const route = vs.spec.http?.[0];
    assert.deepEqual(route?.mirrorPercentage, { value: 10 });
    assert.equal('mirrorPercent' in (route ?? {}), false);
    // percentage wins over the deprecated percent when both are given, as in Istio.
    assert.deepEqual(route?.fault?.delay, { fixedDelay: '1.5s', percentage: { value: 0.5 } });
    assert.deepEqual(dr.spec.trafficPolicy?.loadBalancer?.consistentHash, { httpHeaderName: 'x-user', ringHash: { minimumRingSize: 1024 } });
    assert.deepEqual(dr.spec.trafficPolicy?.outlierDetection, { interval: '10s', consecutiveGatewayErrors: 7 });
    // The migrated field still points at the line the user wrote.
    assert.equal(fieldSource(vs, 'spec.http[0].mirrorPercentage.value')?.line, 8);
  });

  it('resolves YAML anchors and aliases', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r}
spec:
  host: r
  subsets:
  - name: v1
    labels: &v1 {version: v1}
  - name: v1-again
    labels: *v1
`;
    const { resources, diagnostics } = parseConfig(text, 'alias.yaml');
    assert.deepEqual(diagnostics, []);
    const dr = resources[0];
    assert.ok(dr?.kind === 'DestinationRule');
    assert.deepEqual(dr.spec.subsets?.[1]?.labels, { version: 'v1' });
  });

  it('records field positions for analyze', () => {
    const { resources } = parseConfig(good('a'), 'pos.yaml');
    const r = resources[0]!;
    assert.deepEqual(fieldSource(r, 'spec.host'), { file: 'pos.yaml', line: 6, column: 3 });
    // Unknown paths fall back to the closest ancestor.
    assert.deepEqual(fieldSource(r, 'spec.host.nothing[3]'), { file: 'pos.yaml', line: 6, column: 3 });
    assert.equal(fieldSource({ kind: 'x' }, 'spec'), undefined);
  });
});

describe('loadConfigPath', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshlet-config-'));
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'b.yaml'), good('b'));
    await writeFile(join(dir, 'a.yml'), good('a'));
    await writeFile(join(dir, 'sub', 'c.yaml'), good('c'));
    await writeFile(join(dir, 'notes.txt'), 'not yaml: [');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a directory recursively, *.yaml and *.yml, sorted', async () => {
    const r = await loadConfigPath(dir);
    assert.deepEqual(r.files, [join(dir, 'a.yml'), join(dir, 'b.yaml'), join(dir, 'sub', 'c.yaml')]);
    assert.deepEqual(r.resources.map((x) => x.metadata.name), ['a', 'b', 'c']);
    assert.equal(r.resources[2]?.source?.file, join(dir, 'sub', 'c.yaml'));
  });

  it('reads a single file', async () => {
    const r = await loadConfigPath(join(dir, 'b.yaml'), { defaultNamespace: 'x' });
    assert.deepEqual(r.files, [join(dir, 'b.yaml')]);
    assert.equal(r.resources[0]?.metadata.namespace, 'x');
  });

  it('throws MESHLET_ERR_FILE_READ for an unreadable path', async () => {
    const missing = join(dir, 'missing.yaml');
    await assert.rejects(loadConfigPath(missing), (err: unknown) => {
      assert.ok(err instanceof MeshError);
      assert.equal(err.code, 'MESHLET_ERR_FILE_READ');
      assert.equal(err.message, `cannot read ${missing}: no such file or directory`);
      return true;
    });
  });
});

describe('meshlet.io annotations', () => {
  const vsWith = (annotations: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: r
  annotations:
${annotations}
spec:
  hosts: [r]
  http:
  - route: [{ destination: { host: r } }]
`;
  it('accepts the known ones and leaves other annotations alone', () => {
    const { resources, diagnostics } = parseConfig(vsWith('    meshlet.io/hedge-on-per-try-timeout: "true"\n    meshlet.io/retry-non-idempotent: "false"\n    example.com/owner: team-a'), 'a.yaml');
    assert.deepEqual(diagnostics, []);
    assert.equal(resources[0]?.metadata.annotations?.['meshlet.io/hedge-on-per-try-timeout'], 'true');
  });
  it('rejects a bad value at its line, and warns about an unknown name with a suggestion', () => {
    const { resources, diagnostics } = parseConfig(vsWith('    meshlet.io/hedge-on-per-try-timeout: "yes"\n    meshlet.io/retry-non-idempotnet: "true"'), 'b.yaml');
    assert.equal(resources.length, 0);
    const [bad, unknown] = diagnostics;
    assert.equal(bad?.severity, 'error');
    assert.equal(bad?.code, 'MESHLET_ERR_CONFIG_SCHEMA');
    assert.equal(bad?.line, 6);
    assert.equal(bad?.path, 'metadata.annotations["meshlet.io/hedge-on-per-try-timeout"]');
    assert.match(bad?.message ?? '', /must be "true" or "false", got "yes"/);
    assert.equal(unknown?.severity, 'warning');
    assert.equal(unknown?.line, 7);
    assert.match(unknown?.message ?? '', /did you mean "meshlet.io\/retry-non-idempotent"/);
  });
  it('warns when an annotation does not apply to the kind', () => {
    const { resources, diagnostics } = parseConfig(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: d, annotations: { meshlet.io/hedge-on-per-try-timeout: "true" } }
spec: { host: d }
`, 'c.yaml');
    assert.equal(resources.length, 1);
    assert.equal(diagnostics[0]?.severity, 'warning');
    assert.match(diagnostics[0]?.message ?? '', /applies to VirtualService, not DestinationRule/);
  });
});
