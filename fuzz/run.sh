#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Runs the libFuzzer targets of a build made with -Dfuzz=true, SECONDS each, one after another.
# usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]        (default: every target)
#
# Each target starts from a scratch copy of fuzz/corpus/<target>/ (new inputs are not written
# back into the repository) with fuzz/<target>.dict when there is one. A crash, leak, timeout,
# out-of-memory or sanitizer report stops the run: the input is written to
# fuzz/crashes/<target>-<kind>-<sha1>, the end of the report is printed, and the script exits 1.
# With FUZZ_KEEP_GOING=1 the remaining targets still run (the exit status is 1 all the same).
# One line per target: executions, seconds, result. Full logs: BUILD_DIR/fuzz-logs/<target>.log.
set -u

build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
targets=${*:-fuzz_router fuzz_json fuzz_iso8601 fuzz_credentials fuzz_request fuzz_zip fuzz_range fuzz_s3}

# Longest input per target: a path; a body; a date; a token (AUTH_TOKEN_MAX is 4096) or claims;
# a request (a target past HTTP_URI_MAX, 100+ headers); names past ZIP_NAME_MAX and 64 entries.
max_len() {
  case $1 in
    fuzz_router) echo 1024 ;;
    fuzz_json) echo 4096 ;;
    fuzz_iso8601) echo 64 ;;
    fuzz_credentials) echo 5000 ;;
    fuzz_request) echo 8192 ;;
    fuzz_zip) echo 4096 ;;
    *) echo 4096 ;;
  esac
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/consign-fuzz-run.XXXXXX") || exit 2
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$here/crashes" "$build/fuzz-logs" || exit 2

# Sanitizer reports are fatal (the library is also built with -fno-sanitize-recover=all).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

status=0
for t in $targets; do
  bin="$build/fuzz/$t"
  log="$build/fuzz-logs/$t.log"
  if [ ! -x "$bin" ]; then
    echo "$t: not built ($bin)"
    status=1
    continue
  fi
  mkdir -p "$scratch/$t"
  [ -d "$here/corpus/$t" ] && cp -R "$here/corpus/$t/." "$scratch/$t/"
  dict=""
  [ -f "$here/$t.dict" ] && dict="-dict=$here/$t.dict"
  start=$(date +%s)
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$here/crashes/$t-" $dict "$scratch/$t" >"$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  [ -n "$execs" ] || execs=$(grep -aoE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
  [ -n "$execs" ] || execs=0
  if [ "$rc" -eq 0 ]; then
    echo "$t: $execs executions in ${took}s: ok"
    continue
  fi
  artifact=$(sed -n "s/.*Test unit written to //p" "$log" | tail -n 1)
  echo "$t: $execs executions in ${took}s: FAILED (exit $rc)${artifact:+, input saved as $artifact}"
  grep -aE 'ERROR: |runtime error|INVARIANT|SUMMARY' "$log" | head -n 8 | sed 's/^/    /'
  echo "    full log: $log"
  status=1
  [ "${FUZZ_KEEP_GOING:-0}" = 1 ] || exit 1
done
exit $status
