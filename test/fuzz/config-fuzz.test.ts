// Issue 11 item 5: mutations of Istio's own samples and of our examples through everything config
// goes through on the control server (parse, validate, analyze, translate, encode). Every case
// must finish within 2 s without throwing, every error diagnostic must carry file:line, and
// whatever validates must translate and encode. MESHLET_FUZZ_CASES / MESHLET_FUZZ_SEED reproduce
// or extend a run (a failure prints its seed and case number).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyze, parseConfig, type IstioResource } from '../../src/config/index.js';
import type { Announcement } from '../../src/control/model.js';
import { Snapshot } from '../../src/control/snapshot.js';
import { mergeAnnouncements, servicesFromConfig } from '../../src/control/services.js';
import { translate } from '../../src/control/translate/index.js';
import { mutate, Rng } from './mutate.js';

const CASES = Number(process.env['MESHLET_FUZZ_CASES'] ?? 3000);
const SEED = Number(process.env['MESHLET_FUZZ_SEED'] ?? 20261203);
const HANG_MS = 2000;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(name) ? [full] : [];
  });
}

const root = new URL('../..', import.meta.url).pathname;
const corpus = [...yamlFiles(join(root, '../shared/istio-samples')), ...yamlFiles(join(root, 'examples'))]
  .map((file) => ({ file, text: readFileSync(file, 'utf8') }));

// Bookinfo's services as a registry would announce them, so routes and subsets have endpoints.
const announced: Announcement[] = ['productpage', 'details', 'reviews', 'ratings'].flatMap((service, s) =>
  ['v1', 'v2', 'v3'].map((version, v) => ({
    nodeId: `${service}-${version}`,
    service,
    namespace: 'default',
    address: `10.0.${s}.${v + 1}`,
    ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }],
    labels: { app: service, version },
  })),
);

/** Runs one input through the pipeline; returns a problem, or undefined. */
function check(text: string, file: string): string | undefined {
  const { resources, diagnostics } = parseConfig(text, file, { keepInvalid: true });
  for (const d of diagnostics) {
    if (d.severity === 'error' && (d.file !== file || !Number.isInteger(d.line) || (d.line ?? 0) < 1)) return `error without file:line: ${JSON.stringify(d)}`;
  }
  const services = mergeAnnouncements(servicesFromConfig(resources), announced);
  for (const d of analyze(resources as IstioResource[], { services })) {
    if (d.severity === 'error' && d.line !== undefined && d.line < 1) return `analyze diagnostic with a bad line: ${JSON.stringify(d)}`;
  }
  const snapshot = Snapshot.build(translate({ resources, services }));
  if (snapshot.errors.length > 0) return `validated config did not encode: ${JSON.stringify(snapshot.errors[0])}`;
  return undefined;
}

test(`config fuzz: ${CASES} mutants of ${corpus.length} sample files (seed ${SEED})`, () => {
  assert.ok(corpus.length >= 10, 'the Istio samples and examples are beside the repo');
  for (const { file, text } of corpus) assert.equal(check(text, file), undefined, `${file} itself`);
  const rng = new Rng(SEED);
  const failures: string[] = [];
  let slowest = 0;
  let accepted = 0;
  for (let i = 0; i < CASES && failures.length < 5; i++) {
    const base = rng.pick(corpus);
    const text = mutate(base.text, rng);
    const t0 = performance.now();
    let problem: string | undefined;
    try {
      problem = check(text, 'mutant.yaml');
      if (!problem && parseConfig(text, 'mutant.yaml').diagnostics.every((d) => d.severity !== 'error')) accepted++;
    } catch (err) {
      problem = `threw ${(err as Error).stack ?? String(err)}`;
    }
    const ms = performance.now() - t0;
    slowest = Math.max(slowest, ms);
    if (ms > HANG_MS) problem ??= `took ${ms.toFixed(0)} ms`;
    if (problem) failures.push(`case ${i} (seed ${SEED}, from ${base.file}): ${problem}\n--- input ---\n${text.slice(0, 2000)}`);
  }
  console.log(`config fuzz: ${CASES} cases, ${accepted} accepted whole, slowest ${slowest.toFixed(1)} ms, ${failures.length} failures`);
  assert.deepEqual(failures, []);
});
