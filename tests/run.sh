#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Runs every test of a build directory and closes with the line "N passed, N failed".
# usage: tests/run.sh BUILD_DIR
# A throwaway PostgreSQL server runs meanwhile (scripts/pg.sh), named to the tests in
# CONSIGN_TEST_DATABASE; when it cannot start, the tests that need it fail.
set -u
build=${1:?usage: tests/run.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)

pgdir=$(mktemp -d /tmp/consign-pg-XXXXXX)
trap '"$root/scripts/pg.sh" stop "$pgdir"' EXIT
trap 'exit 130' INT TERM
if url=$("$root/scripts/pg.sh" start "$pgdir" $$); then
  export CONSIGN_TEST_DATABASE="$url"
else
  echo "tests/run.sh: PostgreSQL did not start: the PostgreSQL tests will fail" >&2
  unset CONSIGN_TEST_DATABASE
fi

# radosgw for contract_s3 (scripts/s3.sh), stopped after the tests (or by itself should this
# script die first); when it cannot start, contract_s3 fails.
s3=$(dirname "$0")/../scripts/s3.sh
s3dir=$(mktemp -d /tmp/consign-s3-XXXXXX)
if "$s3" start "$s3dir" $$ >/dev/null; then
  set -a
  . "$s3dir/env"
  set +a
else
  echo "tests/run.sh: radosgw did not start: contract_s3 will fail" >&2
fi

meson test -C "$build" --print-errorlogs --num-processes 2 --timeout-multiplier 3
status=$?
"$s3" stop "$s3dir"
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        if r["result"] in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r["result"] == "SKIP":
            skipped += 1
        else:
            failed += 1
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
PY
exit $status
