#!/usr/bin/env bash
# Install size as a user pays it: `npm pack` this package, then fresh apps install
#   1. @grpc/grpc-js alone (the peer every gRPC user has anyway),
#   2. the tarball + @grpc/grpc-js (what README's install line does),
#   3. the same + @peculiar/x509 + jose (what the security work will add as dependencies),
# and print packages installed and node_modules size for each, from one run.
#   bash bench/install-size.sh
set -euo pipefail
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
npm pack --silent --pack-destination "$WORK" >/dev/null
TGZ="$(ls "$WORK"/meshlet-node-*.tgz)"
echo "tarball: $(stat -c %s "$TGZ") bytes ($(tar tzf "$TGZ" | wc -l) files, $(tar xzOf "$TGZ" | wc -c) bytes unpacked)"
measure() {
  local name="$1"; shift
  local app="$WORK/$name"
  mkdir -p "$app" && cd "$app"
  echo '{ "name": "app", "version": "1.0.0", "private": true, "allowScripts": { "protobufjs": false } }' >package.json
  npm install --no-audit --no-fund "$@" >/dev/null 2>&1
  local pkgs
  pkgs=$(npm ls --all --parseable 2>/dev/null | tail -n +2 | sort -u | wc -l)
  printf '| %s | %s | %s MB |\n' "$name" "$pkgs" "$(du -sm node_modules | cut -f1)"
  cd - >/dev/null
}
echo '| install | packages | node_modules |'
echo '| --- | --- | --- |'
measure grpc-js-alone @grpc/grpc-js@~1.14.5
measure meshlet-node+grpc-js "$TGZ" @grpc/grpc-js@~1.14.5
measure meshlet-node+grpc-js+x509+jose "$TGZ" @grpc/grpc-js@~1.14.5 @peculiar/x509@^2.2.0 jose@^6
