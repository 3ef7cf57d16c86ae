#!/usr/bin/env bash
# Builds the static web app into web/dist/: type-checks the TypeScript, bundles it with esbuild,
# copies the WASM runtime (build-wasm/dist), the default model (build/model/default.fhm) and
# builds in the public key model updates must be signed with (build/model/signing-public.pem).
# Overrides: FETAL_WASM_DIR, FETAL_DEFAULT_MODEL, FETAL_MODEL_PUBKEY, FETAL_WEB_OUT (web/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/esbuild ] || [ ! -x node_modules/.bin/tsc ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
node_modules/.bin/tsc -p web/tsconfig.json
node_modules/.bin/tsc -p web/tsconfig.sw.json
node web/build.mjs
