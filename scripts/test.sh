#!/usr/bin/env bash
# Every test: installs what is missing, checks the C++ formatting, builds everything, and runs the
# native suites (ctest, which starts its own throwaway PostgreSQL), the WebAssembly tests in Node,
# the web app's unit tests in Node, the end-to-end tests in real Chromium against the real server,
# the fault tests (several servers behind nginx on PostgreSQL), the sanitizer suites (ASan + UBSan
# of the model core, ThreadSanitizer of the server) and a short fuzzing pass. The default model and
# the sanitizer and fuzzing builds are made in the background, at the lowest priority, while the
# suites that do not need them run (see "Background builds" below).
#
# Every step and suite runs under `timeout`. A step or suite that fails, crashes, is cancelled or
# times out is counted as failed and the script goes on with the rest; it always closes with one
# line "N passed, M failed" over all suites, and exits non-zero when M > 0. Counting: the format
# check is one case; ctest, node --test, the fault tests and the fuzzers count their own cases; a
# suite that exits non-zero without reporting a failed case counts one more failure; a set-up or
# build step counts only when it fails (one failure).
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
# GoogleTest prints only failing tests and its summary: a failure's own lines then come first in
# what ctest --output-on-failure shows, not after hundreds of passing ones (a CI log that keeps
# only the start of a long output once lost the failure itself this way).
export GTEST_BRIEF=1
LOGS=$(mktemp -d)
passed=0
failed=0
failures=()

step() { echo; echo "=== $* ($(( $(date +%s) - start ))s)"; }

# Runs "$@" for at most LIMIT seconds (then SIGTERM, SIGKILL 30 s later), output shown and kept
# in LOG; returns the command's exit status (124 or 137 when the time ran out).
bounded() {
  local limit=$1 log=$2
  shift 2
  timeout --kill-after=30 "$limit" "$@" 2>&1 | tee "$log"
  return "${PIPESTATUS[0]}"
}

# Adds one suite's counts to the totals and says what they were.
record() {  # NAME PASSED FAILED RC [WHY]
  local name=$1 p=$2 f=$3 rc=$4 why=${5:+ $5}
  case $rc in 124|137) why=" (timed out)" ;; esac
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
    why="${why:- (exit status $rc without a failed case: crashed or cancelled)}"
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  [ "$f" -eq 0 ] || failures+=("$name: $f failed$why")
  echo "--> $name: $p passed, $f failed$why"
}

# A single check: one case, passed when it exits 0.
check() {  # NAME LIMIT CMD...
  local name=$1 limit=$2 rc=0
  shift 2
  bounded "$limit" "$LOGS/$name.log" "$@" || rc=$?
  if [ $rc -eq 0 ]; then record "$name" 1 0 0; else record "$name" 0 1 "$rc"; fi
}

# A set-up or build step: not a test case, but its failure is one (the suites that need what it
# builds then fail too, and are counted on their own).
build() {  # NAME LIMIT CMD...
  local name=$1 limit=$2 rc=0
  shift 2
  bounded "$limit" "$LOGS/$name.log" "$@" || rc=$?
  [ $rc -eq 0 ] || record "$name" 0 1 "$rc" "(exit status $rc)"
}

count() {  # PATTERN LOG -> number of matching lines
  grep -cE "$1" "$2" || true
}

# A suite whose own report is counted: KIND is ctest, node, fault or fuzz.
suite() {  # NAME KIND LIMIT CMD...
  local name=$1 kind=$2 limit=$3 rc=0 p=0 f=0 log line
  shift 3
  log="$LOGS/$name.log"
  bounded "$limit" "$log" "$@" || rc=$?
  case $kind in
    ctest)  # "97% tests passed, 1 tests failed out of 30"
      line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
      if [ -n "$line" ]; then
        f=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
        p=$(( $(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line") - f ))
      fi ;;
    node)   # the runner's closing "# pass N", "# fail N", "# cancelled N"
      p=$(grep -E '^# pass [0-9]+$' "$log" | awk '{s += $3} END {print s + 0}')
      f=$(grep -E '^# (fail|cancelled) [0-9]+$' "$log" | awk '{s += $3} END {print s + 0}') ;;
    fault)  # tests/fault/run.sh: "--- NAME passed in Ns" / "--- NAME FAILED after Ns"
      p=$(count '^--- [a-z_]+ passed' "$log")
      f=$(count '^--- [a-z_]+ FAILED' "$log") ;;
    fuzz)   # scripts/fuzz.sh: "fuzz_NAME: ok, ..." / "fuzz_NAME: FAILED ..."
      p=$(count '^fuzz_[a-z_]+: ok' "$log")
      f=$(count '^fuzz_[a-z_]+: FAILED' "$log") ;;
  esac
  if [ $((p + f)) -eq 0 ] && [ $rc -eq 0 ]; then
    record "$name" 0 1 1 "(no result reported)"
  else
    record "$name" "$p" "$f" "$rc"
  fi
}

# Background builds. The suites that need no sanitizer build leave about half of the two cores
# idle (they wait on fsync, PostgreSQL, Chromium and the server's own timers): the default model
# and the sanitizer and fuzzing builds run meanwhile, one after another, at the lowest CPU
# priority (nice 19), so a suite in the foreground gets a core the moment it wants one. Each
# leaves its output and exit status in $LOGS; `join` waits for one, shows its output and counts
# a failure like `build` does.
queue_pid=
trap '[ -z "$queue_pid" ] || { pkill -TERM -P "$queue_pid"; kill -TERM "$queue_pid"; } 2>/dev/null' EXIT
queued() {  # NAME LIMIT CMD...: one background step (called in the queue's subshell)
  local name=$1 limit=$2 rc=0 began
  shift 2
  began=$(( $(date +%s) - start ))
  nice -n 19 timeout --kill-after=30 "$limit" "$@" >"$LOGS/$name.log" 2>&1 || rc=$?
  echo "$began $(( $(date +%s) - start )) $rc" >"$LOGS/$name.tmp"
  mv "$LOGS/$name.tmp" "$LOGS/$name.done"
}
join() {  # NAME TITLE
  local name=$1 began ended rc=1
  while [ ! -f "$LOGS/$name.done" ] && kill -0 "$queue_pid" 2>/dev/null; do sleep 1; done
  if [ -f "$LOGS/$name.done" ]; then
    read -r began ended rc <"$LOGS/$name.done"
    step "$2 (ran in the background from ${began}s to ${ended}s)"
  else
    step "$2 (the background queue ended before it)"
  fi
  cat "$LOGS/$name.log" 2>/dev/null
  case $rc in 124|137) record "$name" 0 1 "$rc" ;; 0) ;; *) record "$name" 0 1 "$rc" "(exit status $rc)" ;; esac
}

step "setup";            build setup 3600 scripts/setup.sh
step "C++ formatting (scripts/format.sh --check)"
check format 300 scripts/format.sh --check
step "native build";     build native-build 3600 scripts/build.sh
# Two clang trees: the fuzzing tree (ASan + UBSan + libFuzzer's coverage) builds the harnesses and
# the model core's test programs, which run there under ASan + UBSan; the TSan tree builds the
# server, fetal-audit and the suites that run the server's threaded parts in their own process
# (TSAN_SUITES). The suites that drive a fetal-server process (TSAN_SERVER_SUITES) run from the
# native build against the TSan tree's server (FETAL_SERVER_BIN): the threads under test are the
# server's, and the test program itself need not be instrumented, or compiled a second time.
TSAN_SUITES="storage_conformance_test server_unit_test monitoring_statistics_test bounded_waits_test \
schema_migration_test model_registry_test"
TSAN_SERVER_SUITES="outcome_monitoring_test http_api_test crash_test audit_anchor_test backup_test \
model_trust_test hostile_client_test shadow_evaluation_test release_rollout_test"
step "default model, sanitizer and fuzzing builds: started in the background"
(
  queued default-model 1800 env FETAL_CV_REPEATS=1 scripts/default-model.sh
  queued tsan-build 3600 bash -c "cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFETAL_TSAN=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DFETAL_BUILD_BENCH=OFF >/dev/null \
    && cmake --build build-tsan -j2 --target fetal-server fetal-audit $TSAN_SUITES"
  queued asan-build 3600 bash -c 'scripts/fuzz.sh --configure-only && cmake --build build-fuzz -j2 --target fetal_model_tests'
  queued fuzz-build 3600 scripts/fuzz.sh --build-only
) &
queue_pid=$!
step "native tests (ctest)"
suite ctest ctest 2400 bash -c 'cd build && ctest --output-on-failure -j2 --timeout 900'
join default-model "default model"
step "wasm build";       build wasm-build 2400 scripts/build-wasm.sh
step "wasm tests (node)"
suite node-wasm node 900 node --test tests/wasm/
step "web build";        build web-build 900 scripts/build-web.sh
step "web unit tests (node)"
suite node-web node 300 node --test tests/web/
step "end-to-end tests (chromium)"
suite node-e2e node 1200 node --test --test-concurrency=1 tests/e2e/
step "fault tests";      suite fault fault 1500 tests/fault/run.sh
join tsan-build "thread sanitizer build (TSan, clang) of the server and its tests"
# The server's threads (HTTP workers, the group committer, the reader pool, caches, the shadow
# worker, the rollout monitor) under ThreadSanitizer, each suite on SQLite and on a throwaway
# PostgreSQL. A race ends the process that has it (halt_on_error): a suite's own process fails
# it, and a server that dies fails the suite that started it (tests/server/CMakeLists.txt).
# Left out: drift_simulator_test, post_market_report_test and rollout_cohorts_test replay
# thousands of exams through the drift simulator; the server paths they drive (batches, outcomes,
# the aggregates, GET /monitoring, the cohorts) are outcome_monitoring_test's,
# shadow_evaluation_test's and release_rollout_test's.
suite ctest-tsan ctest 1200 bash -c "cd build-tsan && ctest --output-on-failure -j2 --timeout 1200 -R '^(${TSAN_SUITES// /|})\$'"
suite ctest-tsan-server ctest 1200 env FETAL_SERVER_BIN="$PWD/build-tsan/bin/fetal-server" \
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/server/tsan.supp" \
  bash -c "cd build && ctest --output-on-failure -j2 --timeout 1200 -R '^(${TSAN_SERVER_SUITES// /|})\$'"
join asan-build "the model core's test programs in the fuzzing tree (clang: ASan + UBSan + coverage)"
# The model core's tests under ASan + UBSan, in the fuzzing tree (label `model`), while the
# harnesses build there in the background.
# Left out: the cross-validation of the full default recipe (5 folds of 900 trees), whose time is
# libxgboost's own training (not instrumented); the same fold, metric and card code of ours runs
# under ASan in the nested search test beside it, and at full size in ctest above.
suite ctest-asan ctest 2400 bash -c "cd build-fuzz && ctest --output-on-failure -j2 --timeout 1200 -L '^model\$' \
  -E '^CrossValidate\.DefaultRecipeReachesTheTargetsOnThePublishedFolds\$'"
join fuzz-build "fuzzing build"
step "fuzzing (smoke)";  suite fuzz fuzz 600 scripts/fuzz.sh
wait "$queue_pid"
queue_pid=
echo
echo "all suites finished in $(( $(date +%s) - start ))s"
if [ ${#failures[@]} -gt 0 ]; then
  printf 'failed: %s\n' "${failures[@]}"
  echo "logs of every step: $LOGS"
else
  rm -rf "$LOGS"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
