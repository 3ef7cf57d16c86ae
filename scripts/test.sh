#!/usr/bin/env bash
# Every test: installs what is missing, builds everything, and runs the native suites (ctest, which
# starts its own throwaway PostgreSQL), the sanitizer build of the core, the WebAssembly tests in
# Node, the end-to-end tests in real Chromium against the real server, the fault tests and a
# short fuzzing pass. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - start ))s)"; }

step setup;              scripts/setup.sh
step "native build";     scripts/build.sh
step "default model";    scripts/default-model.sh
step "native tests";     (cd build && ctest --output-on-failure -j2 --timeout 600)
step "sanitizer build of the model core tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFETAL_SANITIZE=ON \
  -DFETAL_BUILD_SERVER=OFF -DFETAL_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j2
(cd build-asan && ctest --output-on-failure -j2 -L model --timeout 900)
step "wasm build";       scripts/build-wasm.sh
step "wasm tests";       node --test tests/wasm/
step "web build";        scripts/build-web.sh
step "end-to-end tests"; node --test --test-concurrency=1 tests/e2e/
step "done in $(( $(date +%s) - start ))s"
