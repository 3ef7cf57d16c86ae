#!/usr/bin/env bash
# Builds the WebAssembly model core into build-wasm/dist/ (fetal.js, fetal.d.ts, fetal-core.js,
# fetal-core.wasm). Usage: scripts/build-wasm.sh [build-dir]   (default: <repo>/build-wasm)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-$ROOT/build-wasm}"
JOBS="${FETAL_JOBS:-2}"

# Emscripten 3.1.6 on Debian: its JS optimizer (run when linking at -O2 and above) needs
# Debian's acorn module, which a NodeSource node does not find without NODE_PATH ("Cannot find
# module 'acorn'"); its Python tools need Debian's Python with numpy, and a pyenv python3 may
# come first in PATH.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
export EMSDK_PYTHON=/usr/bin/python3

if ! command -v emcmake >/dev/null; then
  echo "build-wasm: emcmake not found; install Debian's emscripten (scripts/setup.sh)" >&2
  exit 1
fi

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  emcmake cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CROSSCOMPILING_EMULATOR=/usr/bin/node >/dev/null
fi
cmake --build "$BUILD_DIR" --target fetal_core -j"$JOBS"

DIST="$BUILD_DIR/dist"
for f in fetal.js fetal.d.ts fetal-core.js fetal-core.wasm; do
  [ -f "$DIST/$f" ] || { echo "build-wasm: $DIST/$f was not produced" >&2; exit 1; }
done
echo "build-wasm: $DIST"
