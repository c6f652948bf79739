#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# A throwaway S3 server for the tests: Ceph's radosgw over one monitor and one OSD that keeps
# objects in memory, everything under DIR and on free loopback ports. Needs the Debian packages
# ceph-mon ceph-osd radosgw ceph-common uuid-runtime (scripts/deps.sh test).
#
# usage: scripts/s3.sh start DIR [PID]
#          DIR must not exist or be empty. Writes DIR/env (shell assignments: CONSIGN_TEST_S3,
#          AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION) and prints it. Exits 1 with the
#          daemons' last log lines when the server does not come up (and stops what it started).
#          With PID, the server also stops by itself once process PID is gone: the daemons
#          detach from their caller, so a caller killed before its `stop` would leave them.
#        scripts/s3.sh stop DIR
#          stops the daemons started in DIR and removes DIR.
set -eu

ACCESS_KEY=consign-test
SECRET_KEY=consign-test-secret
BUCKET=consign-test
REGION=us-east-1
WAIT_SECONDS=60

die() {
  echo "s3.sh: $*" >&2
  for f in "$C"/log/*.log; do
    [ -f "$f" ] || continue
    echo "--- last lines of $f" >&2
    tail -n 15 "$f" >&2
  done
  stop_daemons
  exit 1
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Polls "$@" every half second until it succeeds; false after WAIT_SECONDS.
wait_for() {
  i=0
  while ! "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -ge $((WAIT_SECONDS * 2)) ] && return 1
    sleep 0.5
  done
  return 0
}

osd_up() { ceph -c "$C/ceph.conf" osd stat 2>/dev/null | grep -q '1 up'; }

# The cluster is thrown away with its memory store, so the daemons are killed outright, all at
# once: a polite stop takes seconds (an OSD that outlives its monitor waits for it), and even a
# killed daemon takes a second or two to release its memory.
stop_daemons() {
  pids=""
  for pidfile in "$C"/run/*.pid; do
    [ -f "$pidfile" ] || continue
    pids="$pids $(cat "$pidfile")"
    rm -f "$pidfile"
  done
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill -9 $pids 2>/dev/null || true
  i=0
  for pid in $pids; do
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  done
}

start() {
  if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
    echo "s3.sh: $DIR is not empty" >&2
    exit 1
  fi
  for p in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool uuidgen curl; do
    command -v $p >/dev/null || { echo "s3.sh: $p is missing (scripts/deps.sh test installs it)" >&2; exit 1; }
  done
  mkdir -p "$C/run" "$C/log" "$C/mon/ceph-a" "$C/osd/ceph-0" "$C/rgw"
  fsid=$(uuidgen)
  osd_uuid=$(uuidgen)
  mon_port=$(free_port)
  rgw_port=$(free_port)
  while [ "$rgw_port" = "$mon_port" ]; do rgw_port=$(free_port); done
  cat >"$C/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 1073741824
run dir = $C/run
admin socket = $C/run/\$name.asok
log file = $C/log/\$name.log
pid file = $C/run/\$name.pid
mon data = $C/mon/ceph-\$id
osd data = $C/osd/ceph-\$id
keyring = $C/keyring
[mon]
paxos propose interval = 0.01
paxos min wait = 0.001
[osd]
osd crush update on start = false
osd class update on start = false
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $C/rgw
EOF
  ceph-authtool --create-keyring "$C/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null ||
    die "ceph-authtool failed"
  monmaptool --create --add a "v1:127.0.0.1:$mon_port" --fsid "$fsid" "$C/monmap" >/dev/null ||
    die "monmaptool failed"
  ceph-mon -c "$C/ceph.conf" --mkfs -i a --monmap "$C/monmap" --keyring "$C/keyring" ||
    die "ceph-mon --mkfs failed"
  ceph-mon -c "$C/ceph.conf" -i a || die "ceph-mon did not start"
  # The OSD must be created with its uuid, or it exits at start ("wrong fsid").
  wait_for ceph -c "$C/ceph.conf" osd create "$osd_uuid" || die "the monitor does not answer"
  ceph-osd -c "$C/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1 ||
    die "ceph-osd --mkfs failed"
  ceph -c "$C/ceph.conf" osd crush add osd.0 1.0 root=default >/dev/null 2>&1 ||
    die "adding the OSD to the CRUSH map failed"
  ceph-osd -c "$C/ceph.conf" -i 0 >/dev/null 2>&1 || die "ceph-osd did not start"
  wait_for osd_up || die "the OSD did not come up"
  radosgw -c "$C/ceph.conf" -n client.rgw.a || die "radosgw did not start"
  wait_for curl -sf -o /dev/null "http://127.0.0.1:$rgw_port/" || die "radosgw does not answer"
  radosgw-admin -c "$C/ceph.conf" user create --uid=consign --display-name=consign \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>&1 ||
    die "radosgw-admin user create failed"
  cat >"$DIR/env" <<EOF
CONSIGN_TEST_S3='s3://$BUCKET?endpoint=http://127.0.0.1:$rgw_port&region=$REGION'
AWS_ACCESS_KEY_ID='$ACCESS_KEY'
AWS_SECRET_ACCESS_KEY='$SECRET_KEY'
AWS_REGION='$REGION'
EOF
  if [ -n "$OWNER" ]; then
    setsid "$0" watch "$DIR" "$OWNER" </dev/null >/dev/null 2>&1 &
    echo $! >"$C/run/watch.pid"
  fi
  cat "$DIR/env"
}

# Stops the server once process $OWNER has gone (started by `start`, in a session of its own so
# that the caller's signals do not reach it; `stop` kills it with the daemons).
watch() {
  trap '' INT TERM HUP
  while kill -0 "$OWNER" 2>/dev/null; do sleep 1; done
  rm -f "$C/run/watch.pid"
  stop_daemons
  rm -rf "$DIR"
}

cmd=${1:-}
DIR=${2:-}
OWNER=${3:-}
[ -n "$DIR" ] || { echo "usage: scripts/s3.sh start DIR [PID] | stop DIR" >&2; exit 2; }
C=$DIR/ceph
case "$cmd" in
  start) start ;;
  watch) [ -n "$OWNER" ] && watch ;;
  stop)
    [ -d "$C" ] && stop_daemons
    rm -rf "$DIR"
    ;;
  *) echo "usage: scripts/s3.sh start DIR [PID] | stop DIR" >&2; exit 2 ;;
esac
