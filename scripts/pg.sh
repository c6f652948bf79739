#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# A throwaway PostgreSQL cluster for tests, on 127.0.0.1 at a free port, kept entirely in DIR.
# usage: scripts/pg.sh start DIR [PID]   prints the URL of its empty database consign_test;
#                                        with PID, the server also stops when that process ends
#        scripts/pg.sh stop DIR          stops it and removes DIR
# `start` also writes the URL to DIR/url. It fails loudly (the end of the server log on stderr,
# exit 1) when the server cannot start. As root the cluster runs as the user postgres, which
# then owns DIR; DIR's parent directories must let that user through (/tmp does).
# PG_BIN names the server's bin directory (default: PostgreSQL 15's, else the newest installed).
set -eu

usage() {
  echo "usage: scripts/pg.sh start DIR [PID] | stop DIR" >&2
  exit 2
}
[ $# -eq 2 ] || [ $# -eq 3 ] || usage
cmd=$1
dir=$2
owner_pid=${3:-}

die() {
  echo "scripts/pg.sh: $*" >&2
  exit 1
}

bin=${PG_BIN:-}
if [ -z "$bin" ]; then
  if [ -x /usr/lib/postgresql/15/bin/postgres ]; then
    bin=/usr/lib/postgresql/15/bin
  else
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  fi
fi
[ -n "$bin" ] && [ -x "$bin/pg_ctl" ] ||
  die "no PostgreSQL server found (install the Debian package postgresql: scripts/deps.sh test)"

# Runs a server program as the cluster's owner: postgres when we are root (the server refuses
# to run as root), else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# A TCP port nobody listens on now. The server may still lose it to someone else before it
# binds; start() then tries another.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ ! -e "$dir/data" ] || die "$dir/data exists: a cluster is already there (scripts/pg.sh stop $dir)"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "there is no user postgres (install the Debian package postgresql)"
    chown postgres:postgres "$dir"
  fi
  chmod 700 "$dir"
  as_owner test -w "$dir" || die "the user postgres cannot write to $dir (put it under /tmp)"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    die "initdb failed"
  }
  tries=0
  while :; do
    port=$(free_port)
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null 2>&1; then
      break
    fi
    tries=$((tries + 1))
    if [ $tries -ge 5 ]; then
      tail -n 20 "$dir/server.log" >&2 || true
      die "the PostgreSQL server in $dir did not start"
    fi
  done
  "$bin/psql" -q -X -v ON_ERROR_STOP=1 "host=127.0.0.1 port=$port user=postgres dbname=postgres" \
    -c "CREATE DATABASE consign_test" >/dev/null || {
    tail -n 20 "$dir/server.log" >&2 || true
    die "cannot create the database consign_test on port $port"
  }
  url="postgres://postgres@127.0.0.1:$port/consign_test"
  echo "$url" >"$dir/url"
  if [ -n "$owner_pid" ]; then
    # Should the caller die without stopping the server (killed), this does it.
    self=$(cd "$(dirname "$0")" && pwd)/pg.sh
    (
      while kill -0 "$owner_pid" 2>/dev/null; do sleep 2; done
      "$self" stop "$dir"
    ) </dev/null >/dev/null 2>&1 &
  fi
  echo "$url"
}

stop() {
  [ -d "$dir" ] || return 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null ||
      die "the PostgreSQL server in $dir did not stop"
  fi
  rm -rf "$dir"
}

case "$cmd" in
  start) start ;;
  stop) [ -z "$owner_pid" ] || usage; stop ;;
  *) usage ;;
esac
