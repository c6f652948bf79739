#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# make bench-list: latency and throughput of the package list at 10,000 and 1,000,000 packages,
# for every sort key in both directions, each filter and a deep page, under 64 connections,
# next to nginx serving the same response bytes as a static file in the same run.
# usage: bench/list.sh BUILD_DIR [SECONDS_PER_QUERY]
set -eu
build=${1:-build}
secs=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/consign-bench-list.XXXXXX)
port=18480
nport=18481
cleanup() {
  [ -f "$work/consign.pid" ] && kill "$(cat "$work/consign.pid")" 2>/dev/null || true
  [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# One wrk run: prints "p50 p99 rps" (milliseconds, requests per second).
measure() { # url [header]
  if [ $# -gt 1 ]; then
    out=$(wrk -t2 -c64 -d"${secs}s" --latency -H "$2" "$1")
  else
    out=$(wrk -t2 -c64 -d"${secs}s" --latency "$1")
  fi
  echo "$out" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    /Requests\/sec/ { rps = $2 } /Non-2xx/ { bad = $NF }
    END { if (bad) rps = "ERR"; printf "%.2f %.2f %s\n", p50, p99, rps }'
}

run_size() { # number of packages
  n=$1
  data="$work/data-$n"
  rm -rf "$data"
  "$build/consign" admin create-team --data "$data" --name Bench --email bench@example.org \
      --password benchbench > "$work/team.json"
  team=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['team_id'])" "$work/team.json")
  user=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['user_id'])" "$work/team.json")
  key=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['api_key'])" "$work/team.json")
  start=$(date +%s)
  { printf ".param set :team '%s'\n.param set :user '%s'\n.param set :n %s\n" "$team" "$user" "$n"
    printf ".param set :words '%s'\n" "alpha    bravo    charlie  delta    echo     foxtrot  golf     hotel    india    juliet   kilo     lima     mike     november oscar    papa     quebec   romeo    sierra   tango    uniform  victor   whiskey  xray     yankee   zulu     amber    azure    coral    crimson  ebony    ivory    jade     lilac    maroon   ochre    olive    pearl    ruby     sable    teal     umber    violet   walnut   badger   beaver   bison    cougar   falcon   ferret   gecko    heron    ibis     jackal   koala    lemur    marmot   newt     otter    puffin   quail    raven    salmon   tapir    "
    cat "$here/gen-packages.sql"; } | sqlite3 "$data/consign.db"
  echo "# $n packages generated in $(( $(date +%s) - start ))s" >&2
  "$build/consign" serve --data "$data" --listen "127.0.0.1:$port" --log-level warn \
      > /dev/null 2> "$work/serve.log" &
  echo $! > "$work/consign.pid"
  until curl -sf "http://127.0.0.1:$port/healthz" > /dev/null; do sleep 0.2; done
  base="http://127.0.0.1:$port/v1.1/teams/$team/packages"
  deep=$(( n * 8 / 10 / 50 ))
  for q in "limit=50" \
      "limit=50&sort=name" "limit=50&sort=-name" "limit=50&sort=created_at" "limit=50&sort=-created_at" \
      "limit=50&sort=size" "limit=50&sort=-size" "limit=50&sort=usage_total_bytes" \
      "limit=50&sort=-usage_total_bytes" "limit=50&sort=expiry" "limit=50&sort=-expiry" \
      "limit=50&sort=sender" "limit=50&sort=-sender" "limit=50&sort=status" "limit=50&sort=-status" \
      "limit=50&sort=teamspace_id" "limit=50&sort=-teamspace_id" \
      "limit=50&status=new" "limit=50&status=archived,new" "limit=50&name=kilo%20sierra" \
      "limit=50&name=TQMVHU" \
      "limit=50&sender=sender07@example.org" "limit=50&tags=0TAG0000000000000000000003" \
      "limit=50&teamspaces=0SPC0000000000000000000002" \
      "limit=50&created_at_start=2021-01-01&created_at_end=2021-01-31" \
      "limit=50&page=$deep"; do
    printf '%s %s %s\n' "$n" "$q" "$(measure "$base?$q" "X-API-KEY: $key")"
  done
  if [ "$n" = "$largest" ]; then
    printf 'sqlite %s %s\n' "$n" "$(du -m "$data/consign.db" | cut -f1)"
    # The reference: nginx serving the bytes of the first page as a static file.
    mkdir -p "$work/nginx/html"
    curl -sf -H "X-API-KEY: $key" "$base?limit=50" > "$work/nginx/html/page.json"
    cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  types { application/json json; }
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen 127.0.0.1:$nport; root $work/nginx/html; }
}
CONF
    # nginx's workers run as an unprivileged user: let them read the page.
    chmod 755 "$work" "$work/nginx" "$work/nginx/html"
    chmod 644 "$work/nginx/html/page.json"
    nginx -c "$work/nginx/nginx.conf" -p "$work/nginx"
    sleep 0.5
    printf 'nginx page.json %s\n' "$(measure "http://127.0.0.1:$nport/page.json")"
  fi
  kill "$(cat "$work/consign.pid")"
  wait 2>/dev/null || true
  rm -f "$work/consign.pid"
}

# BENCH_SIZES overrides the two sizes (for a quick check of the script itself).
sizes=${BENCH_SIZES:-10000 1000000}
largest=${sizes##* }
for n in $sizes; do
  run_size "$n"
done > "$work/results.txt"
python3 "$here/list-report.py" "$work/results.txt"
