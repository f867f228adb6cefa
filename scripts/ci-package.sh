#!/usr/bin/env bash
# The package as a user gets it: `npm pack` (prepack builds), then a fresh app installs the
# tarball with its peer, and everything runs from there — the CLI (--help, --version,
# control + apply + get + status against each other, the demo), a TypeScript ESM and a CJS
# consumer (moduleResolution nodenext, skipLibCheck false) that route calls through the mesh,
# and the shipped examples. Prints the tarball size, the package count and node_modules size.
# Run from the repository root: bash scripts/ci-package.sh
set -euo pipefail
ROOT="$PWD"
WORK="$(mktemp -d)"
CONTROL_PID=""
cleanup() {
  if [ -n "$CONTROL_PID" ]; then kill "$CONTROL_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "ci-package: $*" >&2; exit 1; }

echo "== npm pack"
npm pack --silent --pack-destination "$WORK" >/dev/null
TGZ="$(ls "$WORK"/meshlet-node-*.tgz)"
SIZE=$(stat -c %s "$TGZ")
FILES="$(tar tzf "$TGZ")"
echo "tarball $(basename "$TGZ"): $SIZE bytes, $(echo "$FILES" | wc -l) files"
[ "$SIZE" -le 1572864 ] || fail "tarball is $SIZE bytes (> 1.5 MB)"
if echo "$FILES" | grep -E '\.map$|^package/src/|\.proto$'; then fail "source maps, sources or .proto files in the tarball"; fi
for f in package/LICENSE package/CHANGELOG.md package/README.md package/generated/xds-protos.json package/dist/cli/main.js package/dist/index.cjs; do
  grep -qx "$f" <<<"$FILES" || fail "$f missing from the tarball"
done

APP="$WORK/app"
mkdir -p "$APP"
cd "$APP"
# A user's app. allowScripts: npm 11 asks each app to decide on dependency install scripts;
# protobufjs (via @grpc/grpc-js) has a postinstall that only prints a version notice.
cat > package.json <<'JSON'
{ "name": "fresh-app", "version": "1.0.0", "private": true, "allowScripts": { "protobufjs": false } }
JSON
echo "== npm install <tarball> @grpc/grpc-js (fresh app)"
npm install --no-audit --no-fund "$TGZ" @grpc/grpc-js 2>"$WORK/install.err" >"$WORK/install.out"
cat "$WORK/install.out"
if grep -i 'warn' "$WORK/install.err"; then fail "npm install printed warnings"; fi
PKGS=$(find node_modules -name package.json -not -path '*/node_modules/*/node_modules/*/node_modules/*' | xargs grep -l '"version"' | grep -cE 'node_modules/(@[^/]+/)?[^/]+/package.json$')
echo "installed: $PKGS packages, $(du -sm node_modules | cut -f1) MB in node_modules"
MESHLET="node_modules/.bin/meshlet"

echo "== meshlet --help / --version / <command> --help"
"$MESHLET" --help | grep -q 'meshlet control' || fail "--help"
VERSION=$(node -p "require('$ROOT/package.json').version")
[ "$("$MESHLET" --version)" = "$VERSION" ] || fail "--version is not $VERSION"
for c in control apply analyze get status demo; do "$MESHLET" "$c" --help | grep -q "^usage: meshlet $c" || fail "$c --help"; done

echo "== meshlet control + apply + get + status"
"$MESHLET" control --xds-port 0 --admin-port 0 >"$WORK/control.out" 2>&1 &
CONTROL_PID=$!
for _ in $(seq 1 100); do grep -q 'admin on' "$WORK/control.out" && break; sleep 0.1; done
ADMIN=$(grep -o 'admin on http://[0-9.:]*' "$WORK/control.out" | sed 's#admin on http://##')
[ -n "$ADMIN" ] || { cat "$WORK/control.out"; fail "control did not start"; }
"$MESHLET" apply -f node_modules/meshlet-node/examples/bookinfo/config --server "$ADMIN"
"$MESHLET" get vs --server "$ADMIN" | grep -q reviews || fail "get vs"
"$MESHLET" get dr reviews -o yaml --server "$ADMIN" | grep -q 'subsets' || fail "get dr -o yaml"
# No workload serves those hosts yet: analysis errors, so status must fail ...
if "$MESHLET" status --server "$ADMIN" >/dev/null; then fail "status exited 0 with config errors"; fi
# ... until ServiceEntries serve them.
for svc in productpage reviews ratings details; do cat <<YAML; done >"$WORK/services.yaml"
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: $svc }
spec:
  hosts: [$svc.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, labels: { version: v1 } }, { address: 127.0.0.2, labels: { version: v2 } }, { address: 127.0.0.3, labels: { version: v3 } }]
---
YAML
"$MESHLET" apply -f "$WORK/services.yaml" --server "$ADMIN"
for _ in $(seq 1 50); do "$MESHLET" status --server "$ADMIN" >/dev/null && break; sleep 0.1; done
"$MESHLET" status --server "$ADMIN" || fail "status exited $? on a clean server"
kill "$CONTROL_PID"; wait "$CONTROL_PID" 2>/dev/null || true; CONTROL_PID=""

echo "== meshlet token create + control --ca-dir (the CA with node:crypto only: no @peculiar/x509 installed)"
[ ! -e node_modules/@peculiar/x509 ] || fail "@peculiar/x509 is in the installed tree"
"$MESHLET" token create --ca-dir "$WORK/ca" --namespace default --service-account reviews | grep -qE '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' || fail "token create"
"$MESHLET" control --ca-dir "$WORK/ca" --secure-port 0 --xds-port 0 --admin-port 0 >"$WORK/ca-control.out" 2>&1 &
CONTROL_PID=$!
for _ in $(seq 1 100); do grep -q 'over TLS on' "$WORK/ca-control.out" && break; sleep 0.1; done
SECURE=$(grep -o 'over TLS on [0-9.]*:[0-9]*' "$WORK/ca-control.out" | sed 's#over TLS on ##')
[ -n "$SECURE" ] || { cat "$WORK/ca-control.out"; fail "control --ca-dir did not start"; }
# The secure port's certificate chains to the root the CA wrote, for the names Istio's clients dial.
node -e "
const tls = require('node:tls'); const fs = require('node:fs');
const [host, port] = process.argv[1].split(':');
const s = tls.connect({ host, port: +port, ca: fs.readFileSync(process.argv[2]), servername: 'istiod.istio-system.svc', ALPNProtocols: ['h2'] }, () => {
  const san = s.getPeerCertificate().subjectaltname;
  if (!s.authorized || !san.includes('DNS:istiod.istio-system.svc')) { console.error(s.authorizationError, san); process.exit(1); }
  s.end(); console.log('secure port: certificate verified against root-cert.pem (' + san + ')');
});
s.on('error', (e) => { console.error(e.message); process.exit(1); });
" "$SECURE" "$WORK/ca/root-cert.pem" || fail "secure port TLS"
kill "$CONTROL_PID"; wait "$CONTROL_PID" 2>/dev/null || true; CONTROL_PID=""

echo "== meshlet demo (installed: no express, fastify or grpc-js-xds)"
"$MESHLET" demo --duration 3 --xds-port 0 --admin-port 0 >"$WORK/demo.out" 2>"$WORK/demo.err" || { cat "$WORK/demo.out" "$WORK/demo.err"; fail "demo"; }
[ ! -s "$WORK/demo.err" ] || { cat "$WORK/demo.err"; fail "demo wrote to stderr"; }
grep -q 'note: @grpc/grpc-js-xds is not installed' "$WORK/demo.out" || fail "demo did not say why the stock client is missing"
grep -q 'meshlet HTTP  details        → details-v1' "$WORK/demo.out" || { cat "$WORK/demo.out"; fail "demo traffic"; }

echo "== TypeScript consumers (nodenext, skipLibCheck: false): ESM and CJS"
npm install --no-audit --no-fund --no-save typescript@5.9 @types/node@20 tsx express fastify >/dev/null 2>&1
cp "$ROOT/test/package/consumer-esm.mts" "$ROOT/test/package/consumer-cjs.cts" .
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "target": "ES2022", "module": "nodenext", "moduleResolution": "nodenext", "strict": true,
  "skipLibCheck": false, "types": ["node"], "outDir": "out" }, "files": ["consumer-esm.mts", "consumer-cjs.cts"] }
JSON
npx tsc -p tsconfig.json
node out/consumer-esm.mjs
node out/consumer-cjs.cjs

echo "== the shipped examples"
npx tsx node_modules/meshlet-node/examples/http/main.ts --requests 10 | tee "$WORK/http-example.out"
grep -q 'jason     → reviews v2' "$WORK/http-example.out" || fail "examples/http"
npx tsx node_modules/meshlet-node/examples/grpc/main.ts | tee "$WORK/grpc-example.out"
grep -q 'end-user: jason → ratings-v2' "$WORK/grpc-example.out" || fail "examples/grpc"
# meshlet-node/testing from the installed dist: the seeded fault example under node:test.
npx tsx --test node_modules/meshlet-node/examples/testing/node.test.ts | tee "$WORK/testing-example.out"
grep -q '^# pass 3' "$WORK/testing-example.out" || fail "examples/testing"
echo "== package checks passed"
