#!/usr/bin/env node
// In a source checkout (src/ present) run the TypeScript sources through tsx, so `npx meshlet`
// always runs the code you are looking at; an installed package (no src/) runs the build.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../src/cli/main.ts', import.meta.url);
let entry = new URL('../dist/cli/main.js', import.meta.url).href;
if (existsSync(fileURLToPath(source))) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = source.href;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
