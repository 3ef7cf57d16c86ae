#!/usr/bin/env bash
# Builds the WebAssembly runtime of another revision (for chromium-bench.mjs --previous), from
# `git archive` of that revision in a scratch folder, and copies its dist files to OUT.
# Usage: bench/wasm/build-previous.sh REV OUT      e.g. bench/wasm/build-previous.sh main /tmp/prev
# Uses the revision's own scripts/build-wasm.sh; the scratch folder is removed afterwards.
set -euo pipefail
REV=${1:?usage: build-previous.sh REV OUT}
OUT=${2:?usage: build-previous.sh REV OUT}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
git -C "$ROOT" archive "$REV" | tar -x -C "$SCRATCH"
"$SCRATCH/scripts/build-wasm.sh" "$SCRATCH/build-wasm" >/dev/null
mkdir -p "$OUT"
cp "$SCRATCH/build-wasm/dist/"{fetal.js,fetal-core.js,fetal-core.wasm} "$OUT/"
echo "build-previous: $(git -C "$ROOT" rev-parse --short "$REV") -> $OUT"
