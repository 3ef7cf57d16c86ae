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

tmp=$(mktemp -d /tmp/fetal-bench-XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

if [ ! -f "$bundle" ]; then
  [ -x "$build/bin/fetal-test-bundle" ] || { echo "bench: no bundle at $bundle and no fetal-test-bundle" >&2; exit 1; }
  "$build/bin/fetal-test-bundle" "$tmp" 1
  bundle=$tmp/model.fhm
  echo "bench: $2 not found; using a tiny generated test bundle" >&2
fi

shadow=${FETAL_BENCH_SHADOW:-}
pubkey=()
[ -n "$shadow" ] && pubkey=(--model-pubkey "$build/model/signing-public.pem")
"$server" --listen 127.0.0.1:0 --data-dir "$tmp/data" --default-model "$bundle" --rate-limit 0 \
  --max-in-flight 64 "${pubkey[@]}" \
  >"$tmp/server.log" 2>&1 &
pid=$!
port=
for _ in $(seq 1 300); do
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/server.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "bench: server did not start" >&2; cat "$tmp/server.log" >&2; exit 1; }
url=http://127.0.0.1:$port
token=$("$server" token create --role clinician --name bench --data-dir "$tmp/data" 2>/dev/null)
auth="Authorization: Bearer $token"
admin="Authorization: Bearer $(head -1 "$tmp/data/admin-token")"
if [ -n "$shadow" ]; then
  shadow_version=$(curl -fsS -X POST -H "$admin" -H "Content-Type: application/octet-stream" \
    -H "X-Model-Signature: $(cat "$shadow.sig")" --data-binary @"$shadow" "$url/api/v1/models" |
    grep -o '"version":[0-9]*' | head -1 | cut -d: -f2)
  curl -fsS -X POST -H "$admin" "$url/api/v1/models/$shadow_version/shadow" >/dev/null
  echo "bench: model version $shadow_version ($shadow) in shadow" >&2
fi

# Converts wrk's "1.23ms" / "456.00us" / "1.02s" to milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }

rows=()
run() {  # run NAME CONNECTIONS SCRIPT ARG
  local name=$1 conns=$2 script=$3 arg=$4 threads=2
  [ "$conns" -lt 2 ] && threads=1
  local out
  out=$(wrk -t"$threads" -c"$conns" -d"${seconds}s" --latency -H "$auth" -s "$here/$script" "$url" -- "$arg")
  local rps p50 p99 non2xx errors
  rps=$(echo "$out" | awk '/^Requests\/sec/ { printf "%.0f", $2 }')
  p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')")
  p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
  non2xx=$(echo "$out" | awk '/Non-2xx/ { print $NF }'); non2xx=${non2xx:-0}
  errors=$(echo "$out" | awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }'); errors=${errors:-0}
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
