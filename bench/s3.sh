#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# make bench-s3: starts a throwaway PostgreSQL and radosgw (scripts/pg.sh, scripts/s3.sh), runs
# bench/s3.py with the release build, stops them.
# usage: bench/s3.sh BUILD_DIR [MIB]
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
pgdir=$(mktemp -d /tmp/consign-bench-pg.XXXXXX)
s3dir=$(mktemp -d /tmp/consign-bench-s3.XXXXXX)
cleanup() {
  "$root/scripts/s3.sh" stop "$s3dir" >/dev/null 2>&1 || true
  "$root/scripts/pg.sh" stop "$pgdir" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM
CONSIGN_TEST_DATABASE=$("$root/scripts/pg.sh" start "$pgdir" $$)
export CONSIGN_TEST_DATABASE
"$root/scripts/s3.sh" start "$s3dir" $$ >/dev/null
set -a
. "$s3dir/env"
set +a
CONSIGN_BIN="$root/$build/consign" BENCH_S3_MIB="${2:-${BENCH_S3_MIB:-512}}" \
  python3 "$here/s3.py"
