#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan + UBSan, coverage in every library they reach) into
# build-fuzz/ and runs each one, as many at once as there are cores (FUZZ_JOBS to change that).
#
#   scripts/fuzz.sh                  smoke run: every harness for FUZZ_SECONDS (default 10) from
#                                    its committed seeds; what the test command runs
#   scripts/fuzz.sh --long [SECONDS] longer run (default 600 s per harness) on a corpus kept in
#                                    build-fuzz/corpus/<name>/ that grows across runs
#   scripts/fuzz.sh --only NAME ...  just that harness (bundle, csv, validator, xgboost_import,
#                                    exam_json, http_api), combinable with --long
#   scripts/fuzz.sh --build-only     build the harnesses, run none (the test command builds them
#                                    in the background while other suites run)
#   scripts/fuzz.sh --configure-only configure build-fuzz, build nothing (the test command builds
#                                    the model core's test programs there first)
#
# A finding makes the run exit non-zero (the other harnesses still finish); the input that
# triggered it is kept in build-fuzz/artifacts/<name>/ and can be replayed with:
# build-fuzz/bin/fuzz_<name> FILE
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${FETAL_FUZZ_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-10}
mode=smoke
build_only=false
configure_only=false
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --long) mode=long; seconds=600
            if [[ ${2:-} =~ ^[0-9]+$ ]]; then seconds=$2; shift; fi ;;
    --only) only+=("$2"); shift ;;
    --build-only) build_only=true ;;
    --configure-only) configure_only=true ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (scripts/setup.sh installs it)" >&2; exit 1; }

# The harnesses that exist in fuzz/ (fuzz_<name>.cc).
names=()
for source in fuzz/fuzz_*.cc; do
  name=$(basename "$source" .cc); name=${name#fuzz_}
  if [ ${#only[@]} -eq 0 ] || [[ " ${only[*]} " == *" $name "* ]]; then names+=("$name"); fi
done
[ ${#names[@]} -gt 0 ] || { echo "fuzz.sh: no harness matches ${only[*]}" >&2; exit 2; }

if $configure_only; then echo "fuzz.sh: configuring $BUILD_DIR"; else echo "fuzz.sh: building ${names[*]} in $BUILD_DIR"; fi
# Tests are configured but not built here: the test command builds the model core's test programs
# in this tree too (target fetal_model_tests) and runs them under its ASan + UBSan.
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DFETAL_BUILD_FUZZ=ON -DFETAL_BUILD_TESTS=ON -DFETAL_BUILD_BENCH=OFF >/dev/null
$configure_only && exit 0
targets=()
for name in "${names[@]}"; do targets+=(--target "fuzz_$name"); done
cmake --build "$BUILD_DIR" -j2 "${targets[@]}" >/dev/null
if $build_only; then
  echo "fuzz.sh: built ${#names[@]} harnesses in $BUILD_DIR"
  exit 0
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# Runs one harness; prints its result line and leaves its name in $failed_list on a finding.
fuzz_one() {
  local name=$1 seeds artifacts corpus extra=() log started rc runs cov
  seeds=$ROOT/fuzz/corpus/$name
  artifacts=$ROOT/$BUILD_DIR/artifacts/$name/
  mkdir -p "$artifacts"
  if [ "$mode" = long ]; then
    corpus=$ROOT/$BUILD_DIR/corpus/$name
    mkdir -p "$corpus"
  else
    corpus=$(mktemp -d)  # the smoke run starts from the seeds and leaves nothing behind
  fi
  case "$name" in
    csv) extra=(-dict="$ROOT/fuzz/dict/csv.dict") ;;
    xgboost_import|exam_json) extra=(-dict="$ROOT/fuzz/dict/json.dict") ;;
    # Server threads allocate and free across inputs: per-input leak checks would misfire.
    http_api) extra=(-dict="$ROOT/fuzz/dict/json.dict" -detect_leaks=0) ;;
  esac
  log=$ROOT/$BUILD_DIR/fuzz_$name.log
  started=$(date +%s)
  rc=0
  "$ROOT/$BUILD_DIR/bin/fuzz_$name" "$corpus" "$seeds" "${extra[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$artifacts" -print_final_stats=1 >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  if [ $rc -eq 0 ]; then
    echo "fuzz_$name: ok, ${runs:-?} inputs in $(( $(date +%s) - started ))s, coverage ${cov:-?} edges"
  else
    echo "fuzz_$name: FAILED (exit $rc); log $log, input kept in $artifacts" >&2
    grep -E 'ERROR|invariant|runtime error|SUMMARY' "$log" | head -5 >&2 || true
    echo "$name" >>"$failed_list"
  fi
  [ "$mode" = long ] || rm -rf "$corpus"
}

# The harnesses run side by side, one per core (FUZZ_JOBS): each is one process fuzzing one input
# at a time (http_api's server threads aside), so two at once take about the time of one on a
# two-core machine.
jobs=${FUZZ_JOBS:-$(nproc)}
failed_list=$(mktemp)
for name in "${names[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_one "$name" &
done
wait
mapfile -t failed <"$failed_list"
rm -f "$failed_list"

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: all ${#names[@]} harnesses clean (${seconds}s each)"
