#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# docs/errors.md must be what `consign errors` prints (regenerate with `make docs`).
# usage: tests/check-docs.sh CONSIGN_BIN SOURCE_ROOT
set -u
if "$1" errors | diff -u "$2/docs/errors.md" - >/dev/null; then
  echo "ok 1 - docs/errors.md matches the error registry"
else
  echo "not ok 1 - docs/errors.md is stale: run 'make docs'"
  "$1" errors | diff -u "$2/docs/errors.md" - | sed 's/^/#   /' | head -20
fi
echo "1..1"
"$1" errors | diff -q "$2/docs/errors.md" - >/dev/null
