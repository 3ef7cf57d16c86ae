#!/usr/bin/env bash
# What shadow evaluation costs the durable POST /api/v1/exams: its throughput at 64 connections
# with no version in shadow, with one and with three, measured against ONE fetal-server in one
# session, the runs interleaved (none, one, three, none, one, three, ...) so that a machine that
# gets busier or a database that grows weighs on every configuration alike. Prints each run, then
# the mean per configuration and its ratio to the mean without a shadow.
# Target (docs/model-changes.md "Shadow evaluation"): with a shadow, at least 90 % of the
# throughput without.
#
#   bench/server/shadow_cost.sh BUILD_DIR [SECONDS] [ROUNDS]
#
# BUILD_DIR holds bin/fetal-server, bin/fetal-model and model/ as scripts/default-model.sh leaves
# it (default.fhm, signing-key.pem, signing-public.pem). The three shadow versions (2, 3, 4) are
# trained the size of the default model (900 trees) and signed with its key, once: they are kept
# in FETAL_BENCH_SHADOW_DIR (default /tmp/fetal-bench-shadows) for the next run.
# Before each run the shadow queue is drained, so no run pays for the one before. Each row counts
# the exams its shadows evaluated (one per exam and shadow), skipped (queue full) and left queued
# when the run ended (backlog): skipped and backlog exams were not paid for within the run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bench/server/shadow_cost.sh BUILD_DIR [SECONDS] [ROUNDS]}
build=$(cd "$build" && pwd)
seconds=${2:-10}
rounds=${3:-3}
server=$build/bin/fetal-server
cli=$build/bin/fetal-model
model=$build/model
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
for f in "$server" "$cli" "$model/default.fhm" "$model/signing-key.pem" "$model/signing-public.pem"; do
  [ -e "$f" ] || { echo "bench: $f not found (scripts/build.sh, scripts/default-model.sh)" >&2; exit 1; }
done

# shellcheck source=bench/server/lib.sh
. "$here/lib.sh"  # makes $tmp; removes it and stops the server on exit

shadows=${FETAL_BENCH_SHADOW_DIR:-/tmp/fetal-bench-shadows}
mkdir -p "$shadows"
weights=([2]=1,1,1 [3]=1,2,2 [4]=1,1,3)  # three different models, each 300 rounds x 3 classes
for v in 2 3 4; do
  if [ ! -f "$shadows/v$v.fhm.sig" ]; then
    echo "bench: training shadow version $v into $shadows" >&2
    "$cli" train --data "$here/../../model/data/fetal_health.csv" --out "$shadows/v$v.fhm" --no-cv \
      --search fixed --rounds 300 --max-depth 5 --class-weight "${weights[$v]}" \
      --model-version "$v" --created 2026-12-01T00:00:00Z >/dev/null
    "$cli" sign --key "$model/signing-key.pem" "$shadows/v$v.fhm" >/dev/null
  fi
done

bench_start_server "$server" "$tmp/data" "$tmp/server.log" --default-model "$model/default.fhm" \
  --model-pubkey "$model/signing-public.pem"
# The versions are registered, never activated: a shadow is any registered version.
for v in 2 3 4; do
  curl -fsS -X POST -H "$bench_admin" -H "Content-Type: application/octet-stream" \
    -H "X-Model-Signature: $(cat "$shadows/v$v.fhm.sig")" --data-binary @"$shadows/v$v.fhm" \
    "$bench_url/api/v1/models" >/dev/null
done

# shadow_set N: versions 2 .. N+1 in shadow, the others not.
shadow_set() {
  for v in 2 3 4; do
    if [ $((v - 1)) -le "$1" ]; then
      curl -fsS -X POST -H "$bench_admin" "$bench_url/api/v1/models/$v/shadow" >/dev/null
    else
      curl -s -X DELETE -H "$bench_admin" "$bench_url/api/v1/models/$v/shadow" >/dev/null
    fi
  done
}

# Waits (at most 120 s) until the shadow worker has no exam queued.
drain() {
  for _ in $(seq 1 1200); do
    [ "$(bench_metric fetal_shadow_queue_depth)" = 0 ] && return 0
    sleep 0.1
  done
  echo "bench: the shadow queue did not drain in 120 s" >&2
}

echo "bench: fetal-server $bench_url, SQLite in $tmp/data, ${seconds}s per run, $rounds rounds," \
  "$(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
wrk -t2 -c8 -d2s -H "$bench_auth" -s "$here/post_exam.lua" "$bench_url" -- warmup >/dev/null

declare -A sum
printf '%-6s %-8s %10s %10s %8s %8s %10s %10s %8s\n' round shadows "req/s" "p99 ms" non-2xx errors \
  evaluated skipped backlog
for r in $(seq 1 "$rounds"); do
  for n in 0 1 3; do
    shadow_set "$n"
    drain
    evaluated0=$(bench_metric fetal_shadow_evaluated_total)
    skipped0=$(bench_metric fetal_shadow_skipped_total)
    out=$(wrk -t2 -c64 -d"${seconds}s" --latency -H "$bench_auth" -s "$here/post_exam.lua" \
      "$bench_url" -- "shadow$n-round$r-$$")
    backlog=$(bench_metric fetal_shadow_queue_depth)  # left for after the run: not paid in it
    drain
    rps=$(wrk_figure rps "$out")
    sum[$n]=$(( ${sum[$n]:-0} + rps ))
    printf '%-6s %-8s %10s %10s %8s %8s %10s %10s %8s\n' "$r" "$n" "$rps" "$(wrk_figure p99 "$out")" \
      "$(wrk_figure non2xx "$out")" "$(wrk_figure errors "$out")" \
      $(( $(bench_metric fetal_shadow_evaluated_total) - evaluated0 )) \
      $(( $(bench_metric fetal_shadow_skipped_total) - skipped0 )) "$backlog"
  done
done
for n in 0 1 3; do
  awk -v n="$n" -v s="${sum[$n]}" -v base="${sum[0]}" -v r="$rounds" 'BEGIN {
    printf "mean, %d in shadow: %.0f req/s, %.1f %% of the throughput without a shadow\n",
      n, s / r, 100 * s / base }'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: compare the rows of this run only)"
