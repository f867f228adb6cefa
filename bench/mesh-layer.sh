#!/usr/bin/env bash
# Bundles bench/mesh-layer.ts with esbuild (as users run the tsup bundle; tsx's keep-names
# wrappers distort a hot path) and runs it. Arguments go to the bench.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/xds-protos.mjs >/dev/null
out=node_modules/.cache/meshlet-bench/mesh-layer.mjs
node_modules/.bin/esbuild bench/mesh-layer.ts --bundle --platform=node --format=esm --outfile="$out" --log-level=warning \
  --external:undici --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
exec node "$out" "$@"
