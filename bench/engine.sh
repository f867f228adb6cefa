#!/usr/bin/env bash
# Bundles bench/engine.ts with esbuild (no keep-names wrappers) and runs it with --expose-gc.
set -euo pipefail
cd "$(dirname "$0")/.."
# Inside the repo, so the bundle resolves node_modules (the Envoy protos ship in @grpc/grpc-js-xds).
out=node_modules/.cache/meshlet-bench/engine.mjs
node_modules/.bin/esbuild bench/engine.ts --bundle --platform=node --format=esm --outfile="$out" --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
node --expose-gc "$out"
