// The generators import shared helpers, never each other nor their barrel (issue 12, item 7):
// a cycle through index.ts made the load order of translate/ matter.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const DIR = join(import.meta.dirname, '../../../src/control/translate');
const GENERATORS = ['lds.ts', 'rds.ts', 'cds.ts', 'eds.ts'];

function localImports(file: string): string[] {
  const text = readFileSync(join(DIR, file), 'utf8');
  return [...text.matchAll(/^(?:import|export)\b[^;]*?from '\.\/([^']+)\.js'/gms)].map((m) => `${m[1]}.ts`);
}

test('no file in translate/ imports the barrel', () => {
  const offenders = readdirSync(DIR).filter((f) => f.endsWith('.ts') && f !== 'index.ts' && localImports(f).includes('index.ts'));
  assert.deepEqual(offenders, []);
});

test('a generator imports no other generator', () => {
  for (const g of GENERATORS) {
    assert.deepEqual(localImports(g).filter((f) => GENERATORS.includes(f)), [], `${g}`);
  }
  // The check reads real imports: rds.ts has some.
  assert.ok(localImports('rds.ts').length > 3);
});
