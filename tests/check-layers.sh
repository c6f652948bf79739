#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Enforces the layering of STYLE.md as include rules, and the banned functions.
# usage: tests/check-layers.sh SOURCE_ROOT
set -u
root=${1:?usage: check-layers.sh SOURCE_ROOT}
cd "$root/src" || exit 1
fail=0
n=0

check() { # description, then a command whose output lists offending lines
  n=$((n + 1))
  out=$(eval "$2")
  if [ -n "$out" ]; then
    echo "not ok $n - $1"
    echo "$out" | sed 's/^/#   /'
    fail=1
  else
    echo "ok $n - $1"
  fi
}

# Library headers, each allowed only in its own module.
check "<microhttpd.h> only in http/server.c" \
  "grep -rln '#include <microhttpd.h>' . | grep -v '^./http/server.c$'"
check "<sqlite3.h> only in store/sqlite/" \
  "grep -rln '#include <sqlite3.h>' . | grep -v '^./store/sqlite/'"
check "<libpq-fe.h> only in store/pg/" \
  "grep -rln '#include <libpq-fe.h>' . | grep -v '^./store/pg/'"
check "<curl/curl.h> only in blob/, mail/ and jobs/" \
  "grep -rln '#include <curl/curl.h>' . | grep -v -e '^./blob/' -e '^./mail/' -e '^./jobs/'"
# Backends' private headers stay in their module.
check "store_int.h only inside store/" \
  "grep -rln 'store/store_int.h\\|store/sqlite/' . | grep -v '^./store/'"
# Direction of the layers: core and json know nothing above them; store knows no HTTP or auth.
check "core/ includes only core/" \
  "grep -rn '#include \"' core | grep -v '#include \"core/'"
check "json/ includes only core/ and json/" \
  "grep -rn '#include \"' json | grep -v -e '#include \"core/' -e '#include \"json/'"
check "http/ includes only core/ and http/" \
  "grep -rn '#include \"' http | grep -v -e '#include \"core/' -e '#include \"http/'"
check "zip/ includes only core/ and zip/" \
  "grep -rn '#include \"' zip | grep -v -e '#include \"core/' -e '#include \"zip/'"
check "web/ includes only core/ and web/" \
  "grep -rn '#include \"' web | grep -v -e '#include \"core/' -e '#include \"web/'"
check "mail/ includes only core/ and mail/" \
  "grep -rn '#include \"' mail | grep -v -e '#include \"core/' -e '#include \"mail/'"
check "store/ includes no http/, api/, auth/ or cli/" \
  "grep -rn -e '#include \"http/' -e '#include \"api/' -e '#include \"auth/' -e '#include \"cli/' store"
check "auth/ includes no http/, api/ or cli/" \
  "grep -rn -e '#include \"http/' -e '#include \"api/' -e '#include \"cli/' auth"
check "api/ includes no cli/ and no backend" \
  "grep -rn -e '#include \"cli/' -e 'store_int.h' -e 'store/sqlite' api"
check "no SQL keywords outside store/" \
  "grep -rlE '\"(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM) ' . | grep -v '^./store/'"
# Every .c starts with compat.h so that banned.h applies everywhere.
check "every .c includes core/compat.h first" \
  "for f in \$(find . -name '*.c'); do first=\$(grep -m1 '^#include' \$f); [ \"\$first\" = '#include \"core/compat.h\"' ] || echo \$f; done"
check "no banned functions" \
  "grep -rnE '\\b(strcpy|strcat|strncpy|sprintf|vsprintf|gets|atoi|atol|atoll|strtok|gmtime|localtime|ctime|asctime)\\s*\\(' . | grep -v 'core/banned.h'"
echo "1..$n"
exit $fail
