#!/bin/sh
# Throwaway PostgreSQL 15 cluster for tests, listening only on a Unix socket in DIR: initdb with
# trust authentication and no fsync at init, started with pg_ctl; about a second.
#   pg-throwaway.sh start DIR PORT   -> initdb into DIR (if needed), start, print the URL on stdout
#   pg-throwaway.sh pause DIR        -> stop immediately, keep DIR (start DIR PORT resumes it)
#   pg-throwaway.sh stop DIR         -> stop immediately and delete DIR
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
set -eu
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}

usage() { echo "usage: $0 start DIR PORT | pause DIR | stop DIR" >&2; exit 2; }

[ $# -ge 2 ] || usage
cmd=$1 dir=$2
case $cmd in
  start)
    [ $# -eq 3 ] || usage
    port=$3
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; chmod 700 "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$BIN/initdb -D '$dir/data' -U postgres -A trust -E UTF8 --no-sync" >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    as_pg "$BIN/pg_ctl -D '$dir/data' -l '$dir/log' -w -t 30 -o \"-p $port -k '$dir' -c listen_addresses='' -c max_connections=200\" start" >/dev/null ||
      { cat "$dir/log" >&2; exit 1; }
    echo "postgresql://postgres@/postgres?host=$dir&port=$port"
    ;;
  pause)
    as_pg "$BIN/pg_ctl -D '$dir/data' -m immediate -w stop" >/dev/null
    ;;
  stop)
    if [ -f "$dir/data/PG_VERSION" ]; then
      as_pg "$BIN/pg_ctl -D '$dir/data' -m immediate -w stop" >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *) usage ;;
esac
