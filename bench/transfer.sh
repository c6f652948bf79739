#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# make bench-transfer: one large file through consign, next to a reference measured in the same
# run on the same filesystem. The upload (100 MiB parts, 4 at once) against dd writing the same
# bytes with fdatasync, five rounds each, alternating; the file finalize's latency; downloads of
# the file with 1 and 4 streams and of the package zip, against nginx serving the same data
# file; the server's peak RSS. Prints a table; each figure is the median of its runs.
# usage: bench/transfer.sh BUILD_DIR [GIB]   (GIB: the file's size, default 4; 0.5 works)
set -eu
build=${1:-build}
gib=${2:-${BENCH_TRANSFER_GIB:-4}}
here=$(cd "$(dirname "$0")" && pwd)
port=18490
nport=18491
part_mib=100
parallel=4
runs=5
rounds=5
export LC_ALL=C

bytes=$(awk -v g="$gib" 'BEGIN { if (g !~ /^[0-9]+(\.[0-9]+)?$/ || g <= 0) exit 1
                                 printf "%.0f\n", g * 1073741824 }') || {
  echo "bench/transfer.sh: the size must be a positive number of GiB, not '$gib'" >&2; exit 2; }
# The source, the server's copy and dd's copy are on disk at once (an upload that is not the
# last is deleted before the next).
free_kb=$(df -Pk /tmp | awk 'NR == 2 { print $4 }')
need_kb=$(( bytes * 3 / 1024 ))
if [ "$free_kb" -lt "$need_kb" ]; then
  echo "bench/transfer.sh: /tmp has $(( free_kb / 1048576 )) GiB free; a $gib GiB file needs" \
       "$(( need_kb / 1048576 + 1 )) GiB (three copies). Free space or set BENCH_TRANSFER_GIB." >&2
  exit 1
fi

work=$(mktemp -d /tmp/consign-bench-transfer.XXXXXX)
cleanup() {
  [ -f "$work/consign.pid" ] && kill "$(cat "$work/consign.pid")" 2>/dev/null || true
  [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
res="$work/results.txt"
: > "$res"
now() { date +%s.%N; }
# Server CPU seconds so far (user + system), from /proc/PID/stat.
cpu() { awk -v t="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / t }' \
          "/proc/$(cat "$work/consign.pid")/stat"; }
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$(cat "$work/consign.pid")/status"; }

echo "load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$res"
echo "parts $part_mib $parallel" >> "$res"

# The source: random bytes (nothing compresses or deduplicates), left in the page cache.
start=$(date +%s)
head -c "$bytes" /dev/urandom > "$work/src.bin"
sync
echo "# $gib GiB of random data generated in $(( $(date +%s) - start ))s" >&2

data="$work/data"
"$build/consign" admin create-team --data "$data" --name Bench --email bench@example.org \
    --password benchbench > "$work/team.json"
field() { python3 -c "import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$@"; }
team=$(field "$work/team.json" team_id)
key=$(field "$work/team.json" api_key)
"$build/consign" serve --data "$data" --listen "127.0.0.1:$port" --log-level warn \
    > /dev/null 2> "$work/serve.log" &
echo $! > "$work/consign.pid"
until curl -sf "http://127.0.0.1:$port/healthz" > /dev/null; do sleep 0.2; done

# The reference for the upload: dd writing the same bytes to the same filesystem, durably.
dd_run() {
  dd if="$work/src.bin" of="$work/dd.bin" bs=1M conv=fdatasync 2> "$work/dd.log"
  awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "s,") print "dd", $1, $(i - 1) }' \
      "$work/dd.log" >> "$res"
  rm -f "$work/dd.bin"
  sync
}
val() { awk -v k="$1" '$1 == k { print $2 }' "$work/upload.txt"; }
# One upload: the package is kept for the downloads, or deleted (with its file) when $1 is "drop".
up_run() {
  u0=$(cpu)
  python3 "$here/transfer.py" upload "$port" "$team" "$key" "$work/src.bin" "$part_mib" \
      "$parallel" > "$work/upload.txt"
  u1=$(cpu)
  echo "up $(val upload_bytes) $(val upload_s)" >> "$res"
  echo "cpu_up $(awk "BEGIN { print $u1 - $u0 }")" >> "$res"
  grep -E '^(upload_bytes|client_cpu_s|finalize_ms|package_finalize_ms) ' "$work/upload.txt" \
      >> "$res"
  if [ "$1" = drop ]; then
    curl -sf -X DELETE -H "X-Package-Token: $(val package_token)" \
        "http://127.0.0.1:$port/v1/packages/$(val package_id)" > /dev/null
  fi
  sync
}
# The disk of a virtual machine varies a lot from one write to the next: dd and the upload
# alternate, and go in turns first after the other.
round=1
while [ "$round" -le "$rounds" ]; do
  if [ "$round" -lt "$rounds" ]; then keep=drop; else keep=keep; fi
  if [ $(( round % 2 )) -eq 1 ]; then dd_run; up_run "$keep"; else up_run "$keep"; dd_run; fi
  echo "# round $round of $rounds: upload and dd done" >&2
  round=$(( round + 1 ))
done
echo "rss_after_upload_kb $(hwm)" >> "$res"
fid=$(val file_id)
blob="$data/blobs/${fid#"${fid%??}"}/$fid"
file_url=$(val file_url)
zip_url=$(val zip_url)
rm -f "$work/src.bin"

# The reference for downloads: nginx serving the very data file (a hard link to it).
mkdir -p "$work/nginx/html"
ln "$blob" "$work/nginx/html/file.bin"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen 127.0.0.1:$nport; root $work/nginx/html; }
}
CONF
# nginx's workers run as an unprivileged user: let them read the file.
chmod 755 "$work" "$work/nginx" "$work/nginx/html"
chmod 644 "$work/nginx/html/file.bin"
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx"
sleep 0.5
nginx_url="http://127.0.0.1:$nport/file.bin"

# STREAMS downloads of URL at once, to /dev/null: prints "bytes seconds" of them together.
fetch() { # streams url
  t0=$(now)
  pids=""
  i=0
  while [ "$i" -lt "$1" ]; do
    curl -sf -o /dev/null -w '%{size_download}\n' "$2" > "$work/fetch.$i" &
    pids="$pids $!"
    i=$(( i + 1 ))
  done
  for p in $pids; do
    wait "$p" || { echo "bench/transfer.sh: a download of $2 failed" >&2; return 1; }
  done
  t1=$(now)
  got=$(cat "$work"/fetch.* | awk '{ s += $1 } END { printf "%.0f\n", s }')
  rm -f "$work"/fetch.*
  echo "$got $(awk "BEGIN { print $t1 - $t0 }")"
}
# RUNS downloads by consign and by nginx in turns, so that a slow moment of the machine falls on
# both; each line "dl WHO STREAMS bytes seconds". The data file is read once before, so that the
# page cache is warm whoever serves it.
measure() { # streams consign_url consign_bytes_per_stream consign_name
  cat "$blob" > /dev/null
  k=0
  while [ "$k" -lt "$runs" ]; do
    for who in "$4" nginx; do
      if [ "$who" = nginx ]; then u=$nginx_url; n=$bytes; else u=$2; n=$3; fi
      out=$(fetch "$1" "$u")
      [ "${out%% *}" = "$(( $1 * n ))" ] || {
        echo "bench/transfer.sh: $who sent ${out%% *} bytes to $1 streams of $n" >&2; return 1; }
      echo "dl $who $1 $out" >> "$res"
    done
    k=$(( k + 1 ))
  done
}

c0=$(cpu)
measure 1 "$file_url" "$bytes" consign
measure 4 "$file_url" "$bytes" consign
c1=$(cpu)
echo "cpu_downloads $(awk "BEGIN { print $c1 - $c0 }")" >> "$res"
echo "# downloaded" >&2
measure 1 "$zip_url" "$(val zip_size)" zip
c2=$(cpu)
echo "cpu_zip $(awk "BEGIN { print $c2 - $c1 }")" >> "$res"
echo "vmhwm_kb $(hwm)" >> "$res"
echo "load_end $(cut -d' ' -f1-3 /proc/loadavg)" >> "$res"
if [ -s "$work/serve.log" ]; then
  echo "# the server logged:" >&2
  cat "$work/serve.log" >&2
fi
python3 "$here/transfer.py" report "$res"
