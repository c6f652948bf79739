#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# The C sources must be as clang-format (with the project's .clang-format) lays them out.
# usage: tests/check-format.sh SOURCE_ROOT
set -u
cd "${1:?usage: check-format.sh SOURCE_ROOT}" || exit 1
n=0
fail=0
for f in $(find src tests fuzz -name '*.c' -o -name '*.h' | sort); do
  n=$((n + 1))
  if clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "ok $n - $f"
  else
    echo "not ok $n - $f is not formatted: run clang-format -i $f"
    fail=1
  fi
done
echo "1..$n"
exit $fail
