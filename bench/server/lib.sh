# Shared by the server benchmarks (source it): start one fetal-server on 127.0.0.1 and a free
# port, stop it by the PID this shell started, read wrk's figures. Sourcing it makes the scratch
# directory $tmp, removed (and the server stopped) when the script exits.

tmp=$(mktemp -d /tmp/fetal-bench-XXXXXX)
trap 'bench_stop_server; rm -rf "$tmp"' EXIT

# bench_start_server SERVER DATA_DIR LOG [SERVER ARGS...]: starts SERVER on SQLite in DATA_DIR
# with the per-token rate limit off (one wrk token stands for a whole ward) and the in-flight
# limit at 64, the most connections a run opens (its cost is measured, it never refuses).
# Sets bench_pid, bench_url, bench_auth (a clinician's header) and bench_admin (the admin's).
bench_start_server() {
  local server=$1 data=$2 log=$3
  shift 3
  "$server" --listen 127.0.0.1:0 --data-dir "$data" --rate-limit 0 --max-in-flight 64 "$@" \
    >"$log" 2>&1 &
  bench_pid=$!
  local port=
  for _ in $(seq 1 300); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    kill -0 "$bench_pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { echo "bench: server did not start" >&2; cat "$log" >&2; return 1; }
  bench_url=http://127.0.0.1:$port
  bench_auth="Authorization: Bearer $("$server" token create --role clinician --name bench \
    --data-dir "$data" 2>/dev/null)"
  bench_admin="Authorization: Bearer $(head -1 "$data/admin-token")"
}

# Stops the server bench_start_server started (SIGTERM, then waits for it).
bench_stop_server() {
  if [ -n "${bench_pid:-}" ]; then
    kill -TERM "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
    bench_pid=
  fi
}

# Converts wrk's "1.23ms" / "456.00us" / "1.02s" to milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }

# bench_metric NAME: a counter or gauge from the server's /metrics (admin).
bench_metric() {
  curl -s -H "$bench_admin" "$bench_url/api/v1/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# wrk_figure rps|p50|p99|non2xx|errors WRK_OUTPUT: one figure of a `wrk --latency` run
# (latencies in ms).
wrk_figure() {
  case $1 in
    rps) echo "$2" | awk '/^Requests\/sec/ { printf "%.0f", $2 }' ;;
    p50) to_ms "$(echo "$2" | awk '$1 == "50%" { print $2 }')" ;;
    p99) to_ms "$(echo "$2" | awk '$1 == "99%" { print $2 }')" ;;
    non2xx) echo "$2" | awk '/Non-2xx/ { n = $NF } END { print n + 0 }' ;;
    errors) echo "$2" | awk '/Socket errors/ { gsub(",", ""); n = $4 + $6 + $8 + $10 } END { print n + 0 }' ;;
  esac
}

# bench_codings NAME PATH CONNECTIONS SECONDS [HEADER]: one row per Accept-Encoding (a browser's,
# gzip alone, identity) of GET PATH on the running server: req/s, p50, p99 and the bytes of one
# answer. HEADER (such as "$bench_auth") goes with every request.
bench_codings_header() {
  printf '%-9s %-22s %8s %8s %8s %9s\n' build accept-encoding req/s p50_ms p99_ms bytes
}
bench_codings() {
  local name=$1 path=$2 conns=$3 seconds=$4 extra=() accept bytes out
  [ -n "${5:-}" ] && extra=(-H "$5")
  for accept in "gzip, deflate, br" "gzip" "identity"; do
    bytes=$(curl -s -o /dev/null -w '%{size_download}' "${extra[@]}" -H "Accept-Encoding: $accept" \
      "$bench_url$path")
    out=$(wrk -t2 -c"$conns" -d"${seconds}s" --latency "${extra[@]}" -H "Accept-Encoding: $accept" \
      "$bench_url$path")
    printf '%-9s %-22s %8s %8s %8s %9s\n' "$name" "\"$accept\"" "$(wrk_figure rps "$out")" \
      "$(wrk_figure p50 "$out")" "$(wrk_figure p99 "$out")" "$bytes"
  done
}
