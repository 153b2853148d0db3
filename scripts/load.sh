#!/usr/bin/env bash
# Drives benchmarks/loadserver with wrk on loopback: the same endpoint with
# no authentication, a cached API key, a cached JWT and a session cookie.
# Prints requests per second, the ratio to no authentication, and the p99
# latency of each, as a markdown table.
#
#   scripts/load.sh [seconds per run, default 10] [connections, default 64]
#
# Needs wrk (Debian: apt-get install wrk). wrk and the server share the
# machine's cores, so the ratios are the figure to read.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
command -v wrk >/dev/null || { echo "load.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
(cd benchmarks && go build -o "$work/loadserver" ./loadserver)
"$work/loadserver" > "$work/out" &
pid=$!
for _ in $(seq 1 100); do grep -q '^READY ' "$work/out" 2>/dev/null && break; sleep 0.1; done
grep -q '^READY ' "$work/out" || { echo "load.sh: the server did not start" >&2; exit 1; }
addr=$(sed -n 's/^READY //p' "$work/out")
key=$(sed -n 's/^KEY=//p' "$work/out")
jwt=$(sed -n 's/^JWT=//p' "$work/out")
cookie=$(sed -n 's/^COOKIE=//p' "$work/out")

# Every run must answer 200: a run of refusals would look fast.
check() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' "${@:2}" "http://$addr/$1")
  [ "$code" = 200 ] || { echo "load.sh: /$1 answered $code" >&2; exit 1; }
}
check none
check apikey -H "Authorization: Bearer $key"
check jwt -H "Authorization: Bearer $jwt"
check session -H "Cookie: $cookie"

run() { # name, wrk args...
  local name=$1; shift
  wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" > "$work/$name.txt"
  if grep -q 'Non-2xx' "$work/$name.txt"; then
    echo "load.sh: $name had non-2xx answers" >&2; cat "$work/$name.txt" >&2; exit 1
  fi
}
run none "http://$addr/none"
run apikey -H "Authorization: Bearer $key" "http://$addr/apikey"
run jwt -H "Authorization: Bearer $jwt" "http://$addr/jwt"
run session -H "Cookie: $cookie" "http://$addr/session"

rps() { awk '/^Requests\/sec:/ {print $2}' "$work/$1.txt"; }
p99() { awk '$1 == "99%" {print $2}' "$work/$1.txt"; }
base=$(rps none)
echo "wrk -t2 -c$conns -d${secs}s on loopback, $(nproc) cores shared by wrk and the server"
echo
echo "| run | requests/s | × no auth | p99 latency |"
echo "| --- | ---: | ---: | ---: |"
for n in none apikey jwt session; do
  r=$(rps "$n")
  printf '| %s | %.0f | %.2f | %s |\n' "$n" "$r" "$(awk -v a="$r" -v b="$base" 'BEGIN {print a / b}')" "$(p99 "$n")"
done
