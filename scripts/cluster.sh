#!/usr/bin/env bash
# The multi-instance set-up on one machine, all on 127.0.0.1: a throwaway PostgreSQL, N
# fetal-server instances sharing it, and Debian's nginx load-balancing in front of them, with the
# same settings file (deploy/fetal-server.env) and proxy rules (deploy/nginx/fetal-proxy.conf) as
# the example deployment. docs/scale-out.md explains the set-up.
#
#   scripts/cluster.sh start [-n N] [--lb-port P] [--base-port P] [--pg-port P]
#                                 builds what is missing, starts PostgreSQL, N instances (default
#                                 3, ports base+1..base+N) and nginx; prints the URL and tokens
#   scripts/cluster.sh stop [--keep]   stops nginx, the instances (SIGTERM) and PostgreSQL; deletes
#                                 the cluster directory unless --keep
#   scripts/cluster.sh status     health of every instance (direct) and through nginx
#   scripts/cluster.sh token ROLE NAME    creates a token (clinician|auditor|admin), prints it
#   scripts/cluster.sh kill I | start-instance I | stop-instance I     one instance (SIGKILL /
#                                 start / SIGTERM), for fault tests
#   scripts/cluster.sh pg-stop [--immediate] | pg-start             the database, for fault tests
#
# Environment: FETAL_CLUSTER_DIR (default /tmp/fetal-cluster) holds everything the set-up writes;
# FETAL_BUILD_DIR (default build) is where fetal-server and the default model are built;
# FETAL_SERVER_ARGS adds flags to every instance (e.g. "--rate-limit 0" for load tests);
# FETAL_CLUSTER_WEB_ROOT serves another web build than web/dist (it must trust the public key
# of $FETAL_BUILD_DIR/model); FETAL_CLUSTER_NO_WEB=1 skips building the web app.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${FETAL_CLUSTER_DIR:-/tmp/fetal-cluster}
BUILD_DIR=${FETAL_BUILD_DIR:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
SERVER=$BUILD_DIR/bin/fetal-server

die() { echo "cluster.sh: $*" >&2; exit 1; }
log() { echo "cluster.sh: $*" >&2; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}

# Settings of a running cluster, written by `start`, read by every other command.
load_state() {
  [ -f "$DIR/cluster.state" ] || die "no cluster in $DIR (start one with: scripts/cluster.sh start)"
  # shellcheck disable=SC1091
  . "$DIR/cluster.state"
}

# GET http://127.0.0.1:PORT/PATH with bash's /dev/tcp (no curl needed); prints the response
# (status line, headers, body). Fails when nothing answers within 2 s.
http_get() {  # PORT PATH
  local port=$1 path=$2
  timeout 2 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$1" >&3
    cat <&3' "$port" "$path" 2>/dev/null | tr -d '\r'
}

http_ok() {  # PORT PATH -> 0 when it answers 2xx
  local status
  status=$(http_get "$1" "$2" | head -1)
  [[ $status =~ ^HTTP/1\.[01]\ 2 ]]
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# --- PostgreSQL ------------------------------------------------------------------------------

pg_start() {
  if [ ! -f "$DIR/pg/data/PG_VERSION" ]; then
    mkdir -p "$DIR/pg"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR/pg" && chmod 700 "$DIR/pg"
    as_postgres "$PG_BIN/initdb -D '$DIR/pg/data' -U postgres -A trust -E UTF8 --no-sync" \
      >"$DIR/pg/initdb.log" 2>&1 || { cat "$DIR/pg/initdb.log" >&2; die "initdb failed"; }
  fi
  as_postgres "$PG_BIN/pg_ctl -D '$DIR/pg/data' -l '$DIR/pg/log' -w -t 30 -o \"-p $PG_PORT -k '$DIR/pg' -c listen_addresses=127.0.0.1 -c max_connections=200\" start" \
    >/dev/null || { tail -20 "$DIR/pg/log" >&2; die "PostgreSQL did not start"; }
}

pg_stop() {  # MODE: fast (clean) or immediate (like a crash); immediate if fast takes over 30 s
  [ -f "$DIR/pg/data/postmaster.pid" ] || return 0
  as_postgres "$PG_BIN/pg_ctl -D '$DIR/pg/data' -m $1 -w -t 30 stop" >/dev/null 2>&1 ||
    as_postgres "$PG_BIN/pg_ctl -D '$DIR/pg/data' -m immediate -w -t 30 stop" >/dev/null 2>&1 || true
}

pg_create_database() {
  local exists
  exists=$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'fetal'")
  [ "$exists" = 1 ] || psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc \
    "CREATE DATABASE fetal" >/dev/null
}

# --- fetal-server instances -------------------------------------------------------------------

instance_port() { echo $((BASE_PORT + $1)); }

instance_pid() {
  local f="$DIR/instance-$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"
}

start_instance() {
  local i=$1 port
  port=$(instance_port "$i")
  [ -z "$(instance_pid "$i" || true)" ] || die "instance $i is already running"
  port_in_use "$port" && die "port $port (instance $i) is already in use"
  mkdir -p "$DIR/instance-$i"
  (
    # The deployment's settings file, then this set-up's paths (systemd does the same with
    # EnvironmentFile=/etc/fetal/fetal-server.env).
    set -a
    # shellcheck disable=SC1091
    . "$ROOT/deploy/fetal-server.env"
    # shellcheck disable=SC1091
    . "$DIR/fetal-server.env"
    set +a
    [ -n "${FETAL_WEB_ROOT:-}" ] || unset FETAL_WEB_ROOT
    # shellcheck disable=SC2086
    exec "$SERVER" serve --listen "127.0.0.1:$port" --data-dir "$DIR/instance-$i" \
      ${FETAL_SERVER_ARGS:-}
  ) >>"$DIR/instance-$i.log" 2>&1 &
  echo $! >"$DIR/instance-$i.pid"
}

wait_instance() {
  local i=$1 port deadline
  port=$(instance_port "$i")
  deadline=$((SECONDS + 30))
  until http_ok "$port" /api/v1/health; do
    if [ -z "$(instance_pid "$i" || true)" ]; then
      tail -20 "$DIR/instance-$i.log" >&2
      die "instance $i exited during start (log: $DIR/instance-$i.log)"
    fi
    [ $SECONDS -lt $deadline ] || die "instance $i not healthy after 30 s (log: $DIR/instance-$i.log)"
    sleep 0.1
  done
}

stop_instance() {  # I SIGNAL
  local i=$1 sig=$2 pid deadline
  pid=$(instance_pid "$i" || true)
  [ -n "$pid" ] || { rm -f "$DIR/instance-$i.pid"; return 0; }
  kill "-$sig" "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 20))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      log "instance $i did not stop after SIGTERM within 20 s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.05
  done
  rm -f "$DIR/instance-$i.pid"
}

# --- nginx ------------------------------------------------------------------------------------

write_nginx_conf() {
  local n=$1 i servers=""
  mkdir -p "$DIR/nginx/tmp"
  for i in $(seq 1 "$n"); do
    servers+="        server 127.0.0.1:$(instance_port "$i") max_fails=2 fail_timeout=5s;"$'\n'
  done
  local user_line=""
  if [ "$(id -u)" = 0 ]; then
    user_line="user nobody nogroup;"
    chown -R nobody:nogroup "$DIR/nginx/tmp"
  fi
  cat >"$DIR/nginx/nginx.conf" <<CONF
# Generated by scripts/cluster.sh: the upstream of deploy/nginx/fetal-site.conf on local ports,
# plain HTTP on 127.0.0.1, and the same proxy rules (deploy/nginx/fetal-proxy.conf).
$user_line
worker_processes 1;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log ${NGINX_ACCESS_LOG:-$DIR/nginx/access.log};
    client_body_temp_path $DIR/nginx/tmp/body;
    proxy_temp_path $DIR/nginx/tmp/proxy;
    fastcgi_temp_path $DIR/nginx/tmp/fastcgi;
    uwsgi_temp_path $DIR/nginx/tmp/uwsgi;
    scgi_temp_path $DIR/nginx/tmp/scgi;
    upstream fetal_servers {
        least_conn;
$servers        keepalive 64;
    }
    server {
        listen 127.0.0.1:$LB_PORT;
        server_name localhost;
        include $ROOT/deploy/nginx/fetal-proxy.conf;
    }
}
CONF
}

nginx_start() {
  port_in_use "$LB_PORT" && die "port $LB_PORT (nginx) is already in use"
  nginx -t -q -e "$DIR/nginx/error.log" -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx/" ||
    die "nginx rejected $DIR/nginx/nginx.conf"
  nginx -e "$DIR/nginx/error.log" -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx/" ||
    die "nginx did not start (see $DIR/nginx/error.log)"
}

nginx_stop() {
  local pid deadline
  [ -f "$DIR/nginx/nginx.pid" ] || return 0
  pid=$(cat "$DIR/nginx/nginx.pid")
  kill -QUIT "$pid" 2>/dev/null || true  # graceful: finish the requests in flight
  deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $((deadline + 5)) ]; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true  # master and workers
    elif [ $SECONDS -ge $deadline ]; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
    sleep 0.05
  done
  rm -f "$DIR/nginx/nginx.pid"
}

# --- what start needs built -------------------------------------------------------------------

ensure_built() {
  if [ ! -x "$SERVER" ] || [ ! -x "$BUILD_DIR/bin/fetal-model" ]; then
    log "building fetal-server and fetal-model in $BUILD_DIR"
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD_DIR" -j2 --target fetal-server fetal-model >/dev/null
  fi
  if [ ! -f "$BUILD_DIR/model/default.fhm" ]; then
    log "training and signing the default model"
    FETAL_BUILD_DIR=$BUILD_DIR "$ROOT/scripts/default-model.sh" >/dev/null
  fi
  if [ ! -f "$ROOT/web/dist/index.html" ] && [ -x "$ROOT/scripts/build-web.sh" ] &&
     [ -z "${FETAL_CLUSTER_NO_WEB:-}" ]; then
    log "building the web app"
    [ ! -x "$ROOT/scripts/build-wasm.sh" ] || "$ROOT/scripts/build-wasm.sh" >/dev/null
    "$ROOT/scripts/build-web.sh" >/dev/null
  fi
}

# --- commands ---------------------------------------------------------------------------------

cmd_start() {
  local n=3 lb=8088 base=8100 pgport=54340
  while [ $# -gt 0 ]; do
    case "$1" in
      -n|--instances) n=$2; shift ;;
      --lb-port) lb=$2; shift ;;
      --base-port) base=$2; shift ;;
      --pg-port) pgport=$2; shift ;;
      *) die "start: unknown argument '$1'" ;;
    esac
    shift
  done
  [[ $n =~ ^[1-9][0-9]?$ ]] || die "start: -n must be 1 to 99 instances, got '$n'"
  [ ! -f "$DIR/cluster.state" ] || die "a cluster is already set up in $DIR (scripts/cluster.sh stop first)"
  command -v nginx >/dev/null || die "nginx not found (scripts/setup.sh installs nginx-light)"
  ensure_built
  mkdir -p "$DIR"
  # PostgreSQL runs as `postgres` when we are root: it must be able to reach $DIR/pg.
  [ "$(id -u)" != 0 ] || chmod 711 "$DIR"
  cat >"$DIR/cluster.state" <<STATE
INSTANCES=$n
LB_PORT=$lb
BASE_PORT=$base
PG_PORT=$pgport
DATABASE_URL=postgresql://postgres@127.0.0.1:$pgport/fetal
STATE
  load_state
  local web_root=${FETAL_CLUSTER_WEB_ROOT:-}
  [ -n "$web_root" ] || [ ! -f "$ROOT/web/dist/index.html" ] || web_root=$ROOT/web/dist
  cat >"$DIR/fetal-server.env" <<ENV
# This set-up's overrides of deploy/fetal-server.env (same variables, local paths).
FETAL_DATABASE_URL=$DATABASE_URL
FETAL_WEB_ROOT=$web_root
FETAL_MODEL_PUBKEY=$BUILD_DIR/model/signing-public.pem
FETAL_DEFAULT_MODEL=$BUILD_DIR/model/default.fhm
ENV

  pg_start
  pg_create_database
  log "PostgreSQL on 127.0.0.1:$PG_PORT ($DATABASE_URL)"
  # The first instance registers the default model and the admin token on the empty database;
  # the others start once that is done.
  start_instance 1
  wait_instance 1
  local i
  for i in $(seq 2 "$INSTANCES"); do start_instance "$i"; done
  for i in $(seq 2 "$INSTANCES"); do wait_instance "$i"; done
  log "$INSTANCES fetal-server instances on 127.0.0.1:$(instance_port 1)..$(instance_port "$INSTANCES")"
  write_nginx_conf "$INSTANCES"
  nginx_start
  local deadline=$((SECONDS + 10))
  until http_ok "$LB_PORT" /api/v1/health; do
    [ $SECONDS -lt $deadline ] || die "nginx on $LB_PORT does not reach the instances"
    sleep 0.1
  done
  log "nginx on http://127.0.0.1:$LB_PORT/ (admin token: $DIR/instance-1/admin-token)"
  echo "http://127.0.0.1:$LB_PORT/"
}

cmd_stop() {
  local keep=0
  [ "${1:-}" != --keep ] || keep=1
  if [ ! -f "$DIR/cluster.state" ]; then
    log "no cluster in $DIR"
    return 0
  fi
  load_state
  nginx_stop
  local i
  for i in $(seq 1 "$INSTANCES"); do stop_instance "$i" TERM & done
  wait
  pg_stop fast
  if [ $keep = 1 ]; then
    log "stopped; data kept in $DIR"
    mv "$DIR/cluster.state" "$DIR/cluster.state.stopped"
  else
    rm -rf "$DIR"
    log "stopped and removed $DIR"
  fi
}

cmd_status() {
  load_state
  local i port rc=0
  for i in $(seq 1 "$INSTANCES"); do
    port=$(instance_port "$i")
    printf 'instance %s  127.0.0.1:%s  pid %-7s ' "$i" "$port" "$(instance_pid "$i" || echo -)"
    http_get "$port" /api/v1/health | tail -1 | grep . || { echo "no answer"; rc=1; }
  done
  printf 'nginx       127.0.0.1:%s  ' "$LB_PORT"
  http_get "$LB_PORT" /api/v1/health | grep -iE '^HTTP|^X-Fetal-Upstream' | tr '\n' ' ' || rc=1
  echo
  printf 'postgresql  127.0.0.1:%s  ' "$PG_PORT"
  as_postgres "$PG_BIN/pg_ctl -D '$DIR/pg/data' status" >/dev/null 2>&1 && echo running ||
    { echo stopped; rc=1; }
  return $rc
}

cmd_token() {
  [ $# -eq 2 ] || die "usage: cluster.sh token clinician|auditor|admin NAME"
  load_state
  "$SERVER" token create --role "$1" --name "$2" --database-url "$DATABASE_URL" \
    --data-dir "$DIR/cli" 2>/dev/null
}

command=${1:-}
[ $# -eq 0 ] || shift
case "$command" in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status ;;
  token) cmd_token "$@" ;;
  kill) load_state; stop_instance "${1:?instance number}" KILL ;;
  stop-instance) load_state; stop_instance "${1:?instance number}" TERM ;;
  start-instance) load_state; start_instance "${1:?instance number}"; wait_instance "$1" ;;
  pg-stop) load_state; if [ "${1:-}" = --immediate ]; then pg_stop immediate; else pg_stop fast; fi ;;
  pg-start) load_state; pg_start ;;
  -h|--help|help) sed -n '2,/^set -euo/{/^set -euo/!p}' "$0" ;;
  *) sed -n '2,/^set -euo/{/^set -euo/!p}' "$0" >&2; exit 2 ;;
esac
