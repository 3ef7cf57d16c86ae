#!/usr/bin/env bash
# Benchmark of fetal-server on its default SQLite backend with wrk: durable POST /api/v1/exams and
# GET /api/v1/exams/{id}, at 1, 8 and 64 connections. Builds nothing.
#
#   bench/server/run.sh BUILD_DIR [BUNDLE] [SECONDS]
#
# BUILD_DIR holds bin/fetal-server (and bin/fetal-test-bundle). BUNDLE defaults to
# BUILD_DIR/model/default.fhm (scripts/default-model.sh), else a tiny test bundle is generated.
# Prints one row per run: requests/s, p50, p99, non-2xx responses and socket errors.
# The per-token rate limit is switched off (--rate-limit 0): one wrk token stands for a whole ward.
# The per-token in-flight limit stays on at 64, the most connections a run opens, so its cost is
# measured but it never refuses.
# Target: POST at 64 connections >= 5,000 req/s with p99 <= 20 ms and no errors.
#
# FETAL_BENCH_SHADOW=SHADOW.fhm (signed, SHADOW.fhm.sig beside it, with the key of
# BUILD_DIR/model/signing-public.pem, and a model_version above BUNDLE's) registers that bundle
# and puts it in shadow before the runs, so every stored exam is also evaluated with it
# (docs/model-changes.md); the shadow counters are printed at the end. Run with and without it
# in one session to measure what shadow evaluation costs the durable POST.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bench/server/run.sh BUILD_DIR [BUNDLE] [SECONDS]}
build=$(cd "$build" && pwd)
bundle=${2:-$build/model/default.fhm}
seconds=${3:-10}
server=$build/bin/fetal-server
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$server" ] || { echo "bench: $server not found; build the fetal-server target first" >&2; exit 1; }

# shellcheck source=bench/server/lib.sh
. "$here/lib.sh"  # makes $tmp; removes it and stops the server on exit

if [ ! -f "$bundle" ]; then
  [ -x "$build/bin/fetal-test-bundle" ] || { echo "bench: no bundle at $bundle and no fetal-test-bundle" >&2; exit 1; }
  "$build/bin/fetal-test-bundle" "$tmp" 1
  bundle=$tmp/model.fhm
  echo "bench: $2 not found; using a tiny generated test bundle" >&2
fi

shadow=${FETAL_BENCH_SHADOW:-}
pubkey=()
[ -n "$shadow" ] && pubkey=(--model-pubkey "$build/model/signing-public.pem")
bench_start_server "$server" "$tmp/data" "$tmp/server.log" --default-model "$bundle" "${pubkey[@]}"
url=$bench_url
auth=$bench_auth
admin=$bench_admin
if [ -n "$shadow" ]; then
  shadow_version=$(curl -fsS -X POST -H "$admin" -H "Content-Type: application/octet-stream" \
    -H "X-Model-Signature: $(cat "$shadow.sig")" --data-binary @"$shadow" "$url/api/v1/models" |
    grep -o '"version":[0-9]*' | head -1 | cut -d: -f2)
  curl -fsS -X POST -H "$admin" "$url/api/v1/models/$shadow_version/shadow" >/dev/null
  echo "bench: model version $shadow_version ($shadow) in shadow" >&2
fi

rows=()
run() {  # run NAME CONNECTIONS SCRIPT ARG
  local name=$1 conns=$2 script=$3 arg=$4 threads=2
  [ "$conns" -lt 2 ] && threads=1
  local out
  out=$(wrk -t"$threads" -c"$conns" -d"${seconds}s" --latency -H "$auth" -s "$here/$script" "$url" -- "$arg")
  local rps p50 p99 non2xx errors
  rps=$(wrk_figure rps "$out")
  p50=$(wrk_figure p50 "$out")
  p99=$(wrk_figure p99 "$out")
  non2xx=$(wrk_figure non2xx "$out")
  errors=$(wrk_figure errors "$out")
  rows+=("$(printf '%-30s %6s %10s %10s %10s %8s %8s' "$name" "$conns" "$rps" "$p50" "$p99" "$non2xx" "$errors")")
  if [ "$name" = "POST /api/v1/exams (durable)" ] && [ "$conns" = 64 ]; then
    target=$(awk -v r="$rps" -v p="$p99" -v n="$non2xx" -v e="$errors" \
      'BEGIN { print (r >= 5000 && p <= 20 && n == 0 && e == 0) ? "MET" : "NOT MET" }')
    target_line="target (POST, 64 connections: >= 5000 req/s, p99 <= 20 ms, no errors): $target ($rps req/s, p99 $p99 ms)"
  fi
}

echo "bench: fetal-server $url, SQLite in $tmp/data, bundle $bundle, ${seconds}s per run, $(nproc) cores," \
  "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
wrk -t2 -c8 -d2s -H "$auth" -s "$here/post_exam.lua" "$url" -- warmup >/dev/null  # warm caches
for c in 1 8 64; do run "POST /api/v1/exams (durable)" "$c" post_exam.lua "run$c-$$"; done
exam_id=$(curl -s -H "$auth" "$url/api/v1/exams?limit=1" | grep -o '"id":[0-9]*' | head -1 | cut -d: -f2)
exam_id=${exam_id:-1}
for c in 1 8 64; do run "GET /api/v1/exams/{id}" "$c" get_exam.lua "$exam_id"; done

printf '%-30s %6s %10s %10s %10s %8s %8s\n' "endpoint" "conns" "req/s" "p50 ms" "p99 ms" "non-2xx" "errors"
printf '%s\n' "${rows[@]}"
echo "$target_line"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared; p99 suffers first when it is busy)"
curl -s -H "$admin" "$url/api/v1/metrics" |
  grep -E '^fetal_(exams_stored|audit_chain_length|store_commits_total|store_committed_writes_total|shadow_[a-z_]+) ' || true
