// docs/configuration.md is generated from the schemas (scripts/gen-config-docs.ts): the committed
// file must be exactly what the generator prints now, so a schema change without a regenerated
// reference fails here. And the reference must say the truth the loader acts on: every field it
// calls "not applied" warns, every field it calls "rejected" is an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderConfigDocs } from '../../scripts/gen-config-docs.js';
import { parseConfig } from '../../src/config/index.js';

const DOC = new URL('../../docs/configuration.md', import.meta.url);

test('docs/configuration.md is what scripts/gen-config-docs.ts generates (run it after a schema change)', () => {
  assert.equal(readFileSync(DOC, 'utf8'), renderConfigDocs(), 'out of date: node --import tsx scripts/gen-config-docs.ts');
});

test('the reference lists every kind meshlet loads, and a field setting loads as the reference says', () => {
  const text = renderConfigDocs();
  for (const kind of ['VirtualService', 'DestinationRule', 'ServiceEntry', 'WorkloadEntry', 'Gateway', 'PeerAuthentication', 'AuthorizationPolicy', 'RequestAuthentication']) {
    assert.match(text, new RegExp(`^## ${kind}$`, 'm'));
  }
  assert.match(text, /^\| `spec\.http\[\]\.corsPolicy` \| object \| \*\*not applied\*\* \(warning\)/m);
  assert.match(text, /^\| `spec\.http\[\]\.fault\.delay\.exponentialDelay` \| duration ≥ 1 ms \| \*\*rejected\*\*/m);
  const vs = (http: string) => `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  hosts: [reviews]\n  http:\n  - ${http}\n`;
  const cors = parseConfig(vs('route: [{destination: {host: reviews}}]\n    corsPolicy: {allowOrigins: [{exact: "https://a.example"}]}'), 'cors.yaml');
  assert.equal(cors.resources.length, 1);
  assert.deepEqual(cors.diagnostics.map((d) => `${d.severity} ${d.code} ${d.path}`), ['warning MESHLET_ERR_CONFIG_UNSUPPORTED spec.http[0].corsPolicy']);
  const delay = parseConfig(vs('route: [{destination: {host: reviews}}]\n    fault: {delay: {exponentialDelay: 1s}}'), 'delay.yaml');
  assert.equal(delay.resources.length, 0);
  assert.deepEqual(delay.diagnostics.map((d) => `${d.severity} ${d.code} ${d.path}`), ['error MESHLET_ERR_CONFIG_SCHEMA spec.http[0].fault.delay.exponentialDelay']);
});
