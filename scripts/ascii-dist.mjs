#!/usr/bin/env node
// Escapes every non-ASCII character in the built bundles. One such character (a `×` in a doc
// comment esbuild keeps, a `µs` in a regex) makes V8 hold a bundle's whole source as a two-byte
// string: dist/index.js is 336 KB of text and was 657 KB of heap in every process that imports
// meshlet. `\uXXXX` means the same in string, template and regex literals, and comments are
// only text, so the bundles behave exactly as before.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('../dist', import.meta.url).pathname;
let files = 0;
for (const file of (function walk(d) {
  return readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : /\.(c|m)?js$/.test(n) ? [join(d, n)] : []));
})(dir)) {
  const text = readFileSync(file, 'utf8');
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(text)) continue;
  // eslint-disable-next-line no-control-regex
  writeFileSync(file, text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  files++;
}
console.log(`ascii-dist: escaped non-ASCII characters in ${files} file(s)`);
