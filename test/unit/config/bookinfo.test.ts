import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { analyze, formatDiagnostic, loadConfigPath, parseConfig, type IstioResource } from '../../../src/config/index.js';
import { BOOKINFO, BOOKINFO_DIR } from './helpers.js';

const dir = fileURLToPath(BOOKINFO_DIR);
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
const load = (f: string) => parseConfig(readFileSync(new URL(f, BOOKINFO_DIR), 'utf8'), f);
const errors = (ds: ReturnType<typeof load>['diagnostics']) => ds.filter((d) => d.severity === 'error').map(formatDiagnostic);

describe('Istio bookinfo samples', () => {
  it('has the sample files', () => assert.ok(files.length >= 10, `found ${files.length} files in ${dir}`));

  for (const file of files) {
    it(`${file} parses with no errors and analyzes clean`, () => {
      const { resources, diagnostics } = load(file);
      assert.deepEqual(errors(diagnostics), []);
      assert.ok(resources.length > 0);
      for (const d of diagnostics) assert.equal(d.code, 'MESHLET_ERR_CONFIG_DEPRECATED', formatDiagnostic(d));
      // Routes name subsets: analyze each file with the sample's DestinationRules, as the
      // bookinfo docs apply them, unless the file brings its own.
      let all: IstioResource[] = resources;
      if (!resources.some((r) => r.kind === 'DestinationRule')) all = [...load('destination-rule-all.yaml').resources, ...resources];
      const found = analyze(all, BOOKINFO);
      assert.deepEqual(errors(found), []);
      for (const d of found) assert.ok(d.code === 'MESHLET_ERR_CONFIG_EMPTY_SUBSET', formatDiagnostic(d));
    });
  }

  it('warns (only) about subsets without workloads such as ratings v2-mysql-vm', () => {
    const { resources } = load('destination-rule-all.yaml');
    const found = analyze(resources, BOOKINFO);
    const vm = found.find((d) => d.message.includes('v2-mysql-vm'));
    assert.ok(vm);
    assert.equal(vm.severity, 'warning');
    assert.equal(vm.code, 'MESHLET_ERR_CONFIG_EMPTY_SUBSET');
    assert.equal(vm.file, 'destination-rule-all.yaml');
    assert.equal(vm.line, 45);
    assert.equal(vm.column, 5);
    assert.equal(vm.path, 'spec.subsets[3]');
  });

  it('normalizes the deprecated fault percent and lower-case protocols', () => {
    const abort = load('virtual-service-ratings-test-abort.yaml');
    const [vs] = abort.resources;
    assert.ok(vs?.kind === 'VirtualService');
    assert.deepEqual(vs.spec.http?.[0]?.fault?.abort, { httpStatus: 500, percentage: { value: 100 } });
    const warn = abort.diagnostics[0];
    assert.equal(warn?.code, 'MESHLET_ERR_CONFIG_DEPRECATED');
    assert.equal(warn?.line, 15);
    assert.equal(warn?.path, 'spec.http[0].fault.abort.percent');

    const [se] = load('egress-rule-google-apis.yaml').resources;
    assert.ok(se?.kind === 'ServiceEntry');
    assert.equal(se.spec.ports?.[0]?.protocol, 'HTTP');
    assert.equal(se.metadata.namespace, 'default');
    assert.deepEqual(se.source, { file: 'egress-rule-google-apis.yaml', line: 2, column: 1 });
  });

  it('loads the whole directory sorted, reporting the cross-file duplicates', async () => {
    const loaded = await loadConfigPath(dir);
    assert.deepEqual(loaded.files.map((f) => f.slice(dir.length).replace(/^\//, '')), files);
    assert.deepEqual(errors(loaded.diagnostics), []);
    const found = analyze(loaded.resources, BOOKINFO);
    // The samples are alternatives (e.g. two reviews VirtualServices), so loading all of them at
    // once must produce duplicates, each pointing at its file and line.
    const dup = found.filter((d) => d.code === 'MESHLET_ERR_CONFIG_DUPLICATE');
    assert.ok(dup.length > 0);
    for (const d of dup) assert.ok(d.file && d.line && d.path === 'metadata.name', formatDiagnostic(d));
  });
});
