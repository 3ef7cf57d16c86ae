#!/usr/bin/env bash
# What compressing the API's answers costs fetal-server: requests per second and latency of
# GET /api/v1/exams?limit=1000 (about 1 MB of JSON) at 4 connections, asked for with a browser's
# Accept-Encoding (br), with gzip only and with none, for this build and (optionally) a previous
# one, the runs interleaved (previous, this, previous, this, ...) so that a machine that gets
# busier weighs on both alike. Also prints the bytes each answer carries.
#
#   bench/server/api_answers.sh BUILD_DIR [PREVIOUS_SERVER] [SECONDS] [ROUNDS]
#
# BUILD_DIR holds bin/fetal-server and model/ as scripts/default-model.sh leaves it;
# PREVIOUS_SERVER another fetal-server binary. Each server starts on a fresh SQLite file and
# stores 1,000 exams or more first (wrk with post_exam.lua).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage="usage: bench/server/api_answers.sh BUILD_DIR [PREVIOUS_SERVER] [SECONDS] [ROUNDS]"
build=$(cd "${1:?$usage}" && pwd)
previous=${2:-}
seconds=${3:-5}
rounds=${4:-2}
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
for f in "$build/bin/fetal-server" "$build/model/default.fhm" ${previous:+"$previous"}; do
  [ -e "$f" ] || { echo "bench: $f not found" >&2; exit 1; }
done

# shellcheck source=bench/server/lib.sh
. "$here/lib.sh"  # makes $tmp; removes it and stops the server on exit

path="/api/v1/exams?limit=1000"
servers=("$build/bin/fetal-server")
names=(this)
if [ -n "$previous" ]; then servers=("$previous" "${servers[@]}"); names=(previous this); fi
echo "GET $path; ${seconds}s per run, 4 connections, $rounds rounds"
bench_codings_header
for round in $(seq 1 "$rounds"); do
  for i in "${!servers[@]}"; do
    rm -rf "$tmp/data"
    mkdir -p "$tmp/data"
    bench_start_server "${servers[$i]}" "$tmp/data" "$tmp/server.log" --no-request-log \
      --default-model "$build/model/default.fhm" --model-pubkey ""
    while [ "$(curl -s -H "$bench_auth" "$bench_url$path" | grep -o '"client_exam_id"' | wc -l)" -lt 1000 ]; do
      wrk -t2 -c8 -d1s -H "$bench_auth" -s "$here/post_exam.lua" "$bench_url" -- "seed$round$i$RANDOM" >/dev/null
    done
    bench_codings "${names[$i]}" "$path" 4 "$seconds" "$bench_auth"
    bench_stop_server
  done
done
