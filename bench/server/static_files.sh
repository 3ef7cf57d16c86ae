#!/usr/bin/env bash
# What serving the web app's files costs fetal-server: requests per second and latency of its
# largest JavaScript file at 8 connections, asked for with a browser's Accept-Encoding (br), with
# gzip only and with none, for this build and (optionally) a previous one, the runs interleaved
# (previous, this, previous, this, ...) so that a machine that gets busier weighs on both alike.
# Also prints the bytes each answer carries.
#
#   bench/server/static_files.sh BUILD_DIR WEB_ROOT [PREVIOUS_SERVER] [SECONDS] [ROUNDS]
#
# BUILD_DIR holds bin/fetal-server and model/ as scripts/default-model.sh leaves it; WEB_ROOT is a
# built web app (scripts/build-web.sh: web/dist); PREVIOUS_SERVER another fetal-server binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage="usage: bench/server/static_files.sh BUILD_DIR WEB_ROOT [PREVIOUS_SERVER] [SECONDS] [ROUNDS]"
build=$(cd "${1:?$usage}" && pwd)
web=$(cd "${2:?$usage}" && pwd)
previous=${3:-}
seconds=${4:-5}
rounds=${5:-2}
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
for f in "$build/bin/fetal-server" "$build/model/default.fhm" "$web/index.html" ${previous:+"$previous"}; do
  [ -e "$f" ] || { echo "bench: $f not found" >&2; exit 1; }
done

# shellcheck source=bench/server/lib.sh
. "$here/lib.sh"  # makes $tmp; removes it and stops the server on exit

file=$(cd "$web" && ls -S -- *.js | head -1)
servers=("$build/bin/fetal-server")
names=(this)
if [ -n "$previous" ]; then servers=("$previous" "${servers[@]}"); names=(previous this); fi
echo "file: /$file ($(stat -c %s "$web/$file") bytes); ${seconds}s per run, 8 connections, $rounds rounds"
bench_codings_header
for round in $(seq 1 "$rounds"); do
  for i in "${!servers[@]}"; do
    rm -rf "$tmp/data"
    mkdir -p "$tmp/data"
    bench_start_server "${servers[$i]}" "$tmp/data" "$tmp/server.log" --no-request-log \
      --web-root "$web" --default-model "$build/model/default.fhm" --model-pubkey ""
    bench_codings "${names[$i]}" "/$file" 8 "$seconds"
    bench_stop_server
  done
done
