#!/usr/bin/env bash
# The fault tests of the multi-instance set-up (docs/scale-out.md), each bounded in time (180 s),
# all traffic on 127.0.0.1:
#   kill_instance     3 instances behind nginx on PostgreSQL, one SIGKILLed and restarted
#   pg_outage         PostgreSQL stopped under load; 503s; recovery without restarts
#   sqlite_disk_full  single SQLite instance on a nearly full filesystem
#   model_activation  an activation on one instance is served by all within the documented bound
#   web_through_nginx the web app in Chromium through nginx; an instance killed between submissions
# Each prints: submitted, acknowledged, stored, duplicates (0), lost (0), chain ok.
# Usage: tests/fault/run.sh [TEST...]     FETAL_BUILD_DIR (default build) holds fetal-server.
set -uo pipefail
cd "$(dirname "$0")/../.."
export FETAL_BUILD_DIR=${FETAL_BUILD_DIR:-build}
BUILD_DIR=$FETAL_BUILD_DIR

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(kill_instance pg_outage sqlite_disk_full model_activation web_through_nginx)

if [ ! -x "$BUILD_DIR/bin/fetal-server" ] || [ ! -x "$BUILD_DIR/bin/fetal-model" ]; then
  echo "fault: building fetal-server and fetal-model in $BUILD_DIR"
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
    cmake --build "$BUILD_DIR" -j2 --target fetal-server fetal-model >/dev/null || exit 1
fi
[ -f "$BUILD_DIR/model/default.fhm" ] || scripts/default-model.sh >/dev/null || exit 1

failed=()
for t in "${tests[@]}"; do
  started=$(date +%s)
  echo "--- fault test $t"
  log=$(mktemp)
  if timeout --kill-after=10 180 node "tests/fault/$t.mjs" 2>&1 | tee "$log"; then
    if grep -q "^SKIP $t" "$log"; then
      echo "--- $t skipped"
    else
      echo "--- $t passed in $(( $(date +%s) - started ))s"
    fi
  else
    echo "--- $t FAILED after $(( $(date +%s) - started ))s"
    failed+=("$t")
  fi
  rm -f "$log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fault tests failed: ${failed[*]}"
  exit 1
fi
echo "fault tests: all ${#tests[@]} passed"
