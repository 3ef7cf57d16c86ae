#!/usr/bin/env bash
# Every test: installs what is missing, builds everything, and runs the native suites (ctest, which
# starts its own throwaway PostgreSQL), the sanitizer builds (ASan + UBSan of the model core,
# ThreadSanitizer of the server), the WebAssembly tests in Node, the end-to-end tests in real
# Chromium against the real server, the fault tests (several servers behind nginx on PostgreSQL)
# and a short fuzzing pass. Exits non-zero if anything fails, and closes with one line
# "N passed, M failed" over all suites.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
step() { echo; echo "=== $* ($(( $(date +%s) - start ))s)"; }
# Runs a suite, keeping its output to count results afterwards.
suite() { local name=$1; shift; "$@" 2>&1 | tee "$LOGS/$name.log"; }

step setup;              scripts/setup.sh
step "native build";     scripts/build.sh
step "default model";    scripts/default-model.sh
step "native tests (ctest)"
suite ctest bash -c 'cd build && ctest --output-on-failure -j2 --timeout 900'
step "sanitizer build (ASan + UBSan) of the model core and its tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFETAL_SANITIZE=ON \
  -DFETAL_BUILD_SERVER=OFF -DFETAL_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j2
suite ctest-asan bash -c 'cd build-asan && ctest --output-on-failure -j2 --timeout 1200'
step "thread sanitizer build (TSan) of the server and its tests"
# The server's threads (HTTP workers, the group committer, the reader pool, caches) under
# ThreadSanitizer: the storage suite and the HTTP suites, each on SQLite and on a throwaway
# PostgreSQL. A race ends the process that has it, which fails its suite (tests/server/CMakeLists.txt).
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFETAL_TSAN=ON -DFETAL_BUILD_BENCH=OFF >/dev/null
cmake --build build-tsan -j2 --target fetal-server storage_conformance_test server_unit_test http_api_test crash_test
suite ctest-tsan bash -c 'cd build-tsan && ctest --output-on-failure -j2 --timeout 1200 -L "server|storage"'
step "wasm build";       scripts/build-wasm.sh
step "wasm tests (node)"
suite node-wasm node --test tests/wasm/
step "web build";        scripts/build-web.sh
step "end-to-end tests (chromium)"
suite node-e2e node --test --test-concurrency=1 tests/e2e/
step "fault tests";      suite fault tests/fault/run.sh
step "fuzzing (smoke)";  suite fuzz scripts/fuzz.sh

# One closing line over every suite (ctest: "tests passed, N tests failed out of M";
# node: "# pass N" / "# fail N"; fault and fuzz runs: one line per passed/failed case).
passed=0; failed=0
for f in "$LOGS"/ctest*.log; do
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$f" | tail -1)
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line"); bad=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
  passed=$((passed + total - bad)); failed=$((failed + bad))
done
for f in "$LOGS"/node-*.log; do
  passed=$((passed + $(grep -E '^# pass [0-9]+' "$f" | awk '{s+=$3} END{print s+0}')))
  failed=$((failed + $(grep -E '^# fail [0-9]+' "$f" | awk '{s+=$3} END{print s+0}')))
done
passed=$((passed + $(grep -cE '^--- .* passed' "$LOGS/fault.log" || true)))
passed=$((passed + $(grep -cE '^fuzz_[a-z_]+: ok' "$LOGS/fuzz.log" || true)))
echo
echo "all suites finished in $(( $(date +%s) - start ))s"
echo "$passed passed, $failed failed"
