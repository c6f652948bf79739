#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Installs the Debian packages consign needs for a purpose, when any is missing; for the tests
# also the npm packages of the browser tests (tests/browser, from its package-lock.json).
# usage: scripts/deps.sh run|test|fuzz|bench
# As root it installs them; as another user it prints the one apt-get line to run and fails.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

base="gcc make meson ninja-build pkg-config python3 libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev libsodium-dev libssl-dev zlib1g-dev libcurl4-openssl-dev libpcre2-dev"
case "${1:-run}" in
  run)  want="$base" ;;
  test) want="$base curl clang-format nginx-light postgresql postgresql-client ceph-mon ceph-osd radosgw ceph-common uuid-runtime python3-aiosmtpd chromium chromium-driver fonts-dejavu-core"
        # Node.js runs the browser tests; one that is already there (of any origin) will do.
        command -v node >/dev/null 2>&1 || want="$want nodejs"
        command -v npm >/dev/null 2>&1 || want="$want npm" ;;
  fuzz) want="$base clang" ;;
  bench) want="$base curl wrk sqlite3 nginx-light" ;;
  *) echo "usage: scripts/deps.sh run|test|fuzz|bench" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
  esac
done

if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "consign needs these Debian packages; install them with:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
  fi
  echo "installing:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# playwright-core, exactly as locked; it drives the Chromium installed above and downloads none.
if [ "${1:-run}" = test ]; then
  browser="$root/tests/browser"
  # node_modules/.installed-lock is the lock file it was installed from.
  if ! cmp -s "$browser/package-lock.json" "$browser/node_modules/.installed-lock" 2>/dev/null; then
    echo "installing the npm packages of tests/browser" >&2
    (cd "$browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$browser/package-lock.json" "$browser/node_modules/.installed-lock"
  fi
fi
