#!/usr/bin/env node
// Runs every *.test.ts under test/ (or the files given) with Node's own test runner and tsx.
// Node 20's --test takes no globs, so the files are listed here. NODE_BIN picks another Node
// (CI runs the suite again on Node 24).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) find(full, out);
    else if (name.endsWith('.test.ts')) out.push(relative(process.cwd(), full));
  }
  return out;
}

// The pruned xDS descriptor the sources load (rebuilt only when its inputs changed).
const protos = spawnSync(process.execPath, ['scripts/xds-protos.mjs'], { stdio: 'inherit' });
if (protos.status !== 0) process.exit(protos.status ?? 1);

const args = process.argv.slice(2);
const files = args.length > 0 ? args : find('test').sort();
const node = process.env.NODE_BIN || process.execPath;
const result = spawnSync(
  node,
  // --test-force-exit: a file whose tests are done must not hold the run open. Seen on Node 24 in
  // CI: the stock grpc-js-xds restart test finished, and its process stayed alive for 17+ minutes
  // (grpc-js-xds keeps a process-wide xDS client that cannot be shut down). Alone it exits.
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', '--test-force-exit', ...files],
  { stdio: 'inherit', env: { ...process.env, MESHLET_TEST: '1' } },
);
process.exit(result.status ?? 1);
