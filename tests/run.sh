#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Runs every test of a build directory and closes with the line "N passed, N failed".
# usage: tests/run.sh BUILD_DIR
set -u
build=${1:?usage: tests/run.sh BUILD_DIR}
meson test -C "$build" --print-errorlogs --num-processes 2 --timeout-multiplier 3
status=$?
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
