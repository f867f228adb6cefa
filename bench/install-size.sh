#!/usr/bin/env bash
# Install size as a user pays it: `npm pack` this package, then fresh apps install
#   1. @grpc/grpc-js alone (the peer every gRPC user has anyway),
#   2. the tarball alone, peers left out (--legacy-peer-deps: npm 7+ would install the
#      grpc-js peer by itself), i.e. meshlet's own footprint,
#   3. the tarball + @grpc/grpc-js (what README's install line does),
# and print packages installed and node_modules size for each, from one run, then what row 3
# adds over row 1 (the part meshlet controls) and the names of the packages it adds.
#   bash bench/install-size.sh
set -euo pipefail
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
npm pack --silent --pack-destination "$WORK" >/dev/null
TGZ="$(ls "$WORK"/meshlet-node-*.tgz)"
echo "tarball: $(stat -c %s "$TGZ") bytes ($(tar tzf "$TGZ" | wc -l) files, $(tar xzOf "$TGZ" | wc -c) bytes unpacked)"
declare -A PKGS KB
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
measure() {
  local name="$1"; shift
  local app="$WORK/$name"
  mkdir -p "$app" && cd "$app"
  echo '{ "name": "app", "version": "1.0.0", "private": true, "allowScripts": { "protobufjs": false } }' >package.json
  npm install --no-audit --no-fund "$@" >/dev/null 2>&1
  # Package names (not paths), so a package nested twice counts once; npm ls exits 1 on the
  # missing peer of row 2, which is the point of that row.
  { npm ls --all --parseable 2>/dev/null || true; } | tail -n +2 | sed 's#.*/node_modules/##' | sort -u >"$WORK/$name.list"
  PKGS[$name]=$(wc -l <"$WORK/$name.list")
  KB[$name]=$(du -sk node_modules | cut -f1)
  printf '| %s | %s | %s MB |\n' "$name" "${PKGS[$name]}" "$(mb "${KB[$name]}")"
  cd - >/dev/null
}
echo '| install | packages | node_modules |'
echo '| --- | --- | --- |'
measure grpc-js-alone @grpc/grpc-js@~1.14.5
measure meshlet-node-alone "$TGZ" --legacy-peer-deps
measure meshlet-node+grpc-js "$TGZ" @grpc/grpc-js@~1.14.5
added=$(comm -13 "$WORK/grpc-js-alone.list" "$WORK/meshlet-node+grpc-js.list")
echo
echo "meshlet-node over grpc-js alone: +$(( PKGS[meshlet-node+grpc-js] - PKGS[grpc-js-alone] )) packages, +$(mb $(( KB[meshlet-node+grpc-js] - KB[grpc-js-alone] ))) MB"
echo "added: $(echo $added)"
