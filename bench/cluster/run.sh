#!/usr/bin/env bash
# Cluster benchmark: durable exam submissions (POST /api/v1/exams, each a new exam) through nginx
# to 1, 2 and 3 fetal-server instances on one PostgreSQL, with wrk; plus one instance without
# nginx as the baseline. Prints submissions/s, p50, p99, errors, and the CPU seconds each part
# of the set-up used per 1,000 submissions (that is where the bottleneck shows on 2 cores).
#
#   bench/cluster/run.sh [--duration S] [--connections C] [--instances "1 2 3"]
# FETAL_BUILD_DIR (default build) holds fetal-server. Uses scripts/cluster.sh with a cluster
# directory of its own and random free ports; stops everything it started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
duration=10
connections=64
instance_counts="1 2 3"
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift ;;
    --connections) connections=$2; shift ;;
    --instances) instance_counts=$2; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
command -v wrk >/dev/null || { echo "wrk not found (scripts/setup.sh installs it)" >&2; exit 1; }

export FETAL_CLUSTER_DIR=$(mktemp -d /tmp/fetal-bench-cluster.XXXXXX)
rmdir "$FETAL_CLUSTER_DIR"
export FETAL_SERVER_ARGS="--rate-limit 0 --max-in-flight 0 --no-request-log"
export FETAL_CLUSTER_NO_WEB=1
export NGINX_ACCESS_LOG=off
trap 'scripts/cluster.sh stop >/dev/null 2>&1 || true' EXIT

free_base() {  # a port P with P..P+5 free
  local p i busy
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 30000)); busy=0
    for i in 0 1 2 3 4 5; do (exec 3<>"/dev/tcp/127.0.0.1/$((p + i))") 2>/dev/null && busy=1; done
    [ $busy = 1 ] || { echo "$p"; return; }
  done
  echo "no free ports" >&2; exit 1
}

# CPU ticks (utime + stime, 1/100 s) of a process and all its descendants.
tree_ticks() {
  local root=$1
  # cat, not awk's own file list: a process that exits meanwhile must not abort the sum.
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$root" '
    { pid = $1; ppid[pid] = $4; ticks[pid] = $14 + $15 }
    END {
      total = 0
      for (p in ticks) { q = p; while (q != "" && q != 0 && q != root) q = ppid[q]; if (q == root) total += ticks[p] }
      print total + 0
    }'
}

component_ticks() {  # prints "postgres servers nginx"
  local dir=$FETAL_CLUSTER_DIR pg servers=0 f
  pg=$(tree_ticks "$(head -1 "$dir/pg/data/postmaster.pid")")
  for f in "$dir"/instance-*.pid; do servers=$((servers + $(tree_ticks "$(cat "$f")"))); done
  echo "$pg $servers $(tree_ticks "$(cat "$dir/nginx/nginx.pid")")"
}

# wrk output -> "req/s p50 p99 errors"
parse_wrk() {
  awk '
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
    /Non-2xx/ { non2xx = $NF }
    /Socket errors/ { gsub(/,/, ""); sock = $4 + $6 + $8 + $10 }
    END { printf "%s %s %s %d\n", rps, p50, p99, non2xx + sock }'
}

printf '%-22s %10s %9s %9s %7s   %s\n' "set-up" "subm/s" "p50" "p99" "errors" \
  "CPU s per 1000 submissions: postgres / servers / nginx"
run_one() {  # LABEL URL
  local label=$1 url=$2 token out before after
  token=$(scripts/cluster.sh token clinician "bench-$RANDOM")
  FETAL_TOKEN=$token wrk -t2 -c"$connections" -d2s -s bench/cluster/post_exam.lua "$url" >/dev/null  # warm-up
  before=$(component_ticks)
  out=$(FETAL_TOKEN=$token wrk -t2 -c"$connections" -d"${duration}s" --latency \
    -s bench/cluster/post_exam.lua "$url")
  after=$(component_ticks)
  read -r rps p50 p99 errors <<<"$(parse_wrk <<<"$out")"
  read -r pg0 sv0 ng0 <<<"$before"
  read -r pg1 sv1 ng1 <<<"$after"
  awk -v l="$label" -v rps="$rps" -v p50="$p50" -v p99="$p99" -v e="$errors" -v d="$duration" \
      -v pg=$((pg1 - pg0)) -v sv=$((sv1 - sv0)) -v ng=$((ng1 - ng0)) 'BEGIN {
    n = rps * d / 1000; if (n <= 0) n = 1
    printf "%-22s %10.0f %9s %9s %7d   %.2f / %.2f / %.2f\n", l, rps, p50, p99, e,
      pg / 100 / n, sv / 100 / n, ng / 100 / n }'
}

for n in $instance_counts; do
  base=$(free_base)
  scripts/cluster.sh start -n "$n" --lb-port "$base" --base-port "$base" --pg-port "$((base + 5))" \
    >/dev/null 2>"$FETAL_CLUSTER_DIR.log" || { cat "$FETAL_CLUSTER_DIR.log" >&2; exit 1; }
  if [ "$n" = 1 ]; then
    run_one "1 instance, no nginx" "http://127.0.0.1:$((base + 1))/api/v1/exams"
  fi
  run_one "$n instance(s) + nginx" "http://127.0.0.1:$base/api/v1/exams"
  scripts/cluster.sh stop >/dev/null 2>&1
done
rm -f "$FETAL_CLUSTER_DIR.log"
echo "($connections connections, ${duration}s each after a 2 s warm-up, wrk -t2; $(nproc) cores shared by everything above)"
