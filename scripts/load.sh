#!/usr/bin/env bash
# Drives benchmarks/loadserver with wrk on loopback: the same endpoint with
# no authentication, a cached API key, a cached JWT and a session cookie.
# The four runs are interleaved in rounds (none, apikey, jwt, session,
# repeated), so that the machine's drift hits every configuration alike;
# each round's ratios are taken to that round's no-auth run. Prints, as a
# markdown table, each configuration's median requests per second, the
# median of its ratio to no authentication with the ratio's range over the
# rounds, and its median p99 latency.
#
#   scripts/load.sh [seconds per run, default 4] [rounds, default 5] [connections, default 64]
#
# Needs wrk (Debian: apt-get install wrk). wrk and the server share the
# machine's cores, so the ratios are the figure to read.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-4}
rounds=${2:-5}
conns=${3:-64}
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

names=(none apikey jwt session)
declare -A header=(
  [none]=""
  [apikey]="Authorization: Bearer $key"
  [jwt]="Authorization: Bearer $jwt"
  [session]="Cookie: $cookie"
)

# Every run must answer 200: a run of refusals would look fast.
for n in "${names[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' ${header[$n]:+-H "${header[$n]}"} "http://$addr/$n")
  [ "$code" = 200 ] || { echo "load.sh: /$n answered $code" >&2; exit 1; }
done

run() { # name, seconds, output file
  wrk -t2 -c"$conns" -d"$2s" --latency ${header[$1]:+-H "${header[$1]}"} "http://$addr/$1" > "$3"
  if grep -q 'Non-2xx' "$3"; then
    echo "load.sh: $1 had non-2xx answers" >&2; cat "$3" >&2; exit 1
  fi
}

# A short pass to warm the server (caches, heap, connections), not counted.
for n in "${names[@]}"; do run "$n" 1 "$work/warm"; done

# One line per run: round, name, requests/s, p99 in ms.
for r in $(seq "$rounds"); do
  for n in "${names[@]}"; do
    run "$n" "$secs" "$work/run"
    awk -v r="$r" -v n="$n" '
      /^Requests\/sec:/ { rps = $2 }
      $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
                    p99 = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : (u == "m") ? v * 60000 : v }
      END { print r, n, rps, p99 }' "$work/run" >> "$work/runs"
  done
done

echo "wrk -t2 -c$conns, $rounds interleaved rounds of ${secs}s runs (none, apikey, jwt, session) on loopback," \
  "$(nproc) cores shared by wrk and the server"
echo
echo "| run | requests/s (median) | × no auth (median) | × no auth (range) | p99 latency (median) |"
echo "| --- | ---: | ---: | ---: | ---: |"
awk -v order="${names[*]}" '
  function median(s,    a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    lo = a[1]; hi = a[n]
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { rps[$1, $2] = $3; rs[$2] = rs[$2] " " $3; p99[$2] = p99[$2] " " $4; rounds[$1] = 1 }
  END {
    k = split(order, names, " ")
    for (i = 1; i <= k; i++) {
      n = names[i]; ratios = ""
      for (r in rounds) ratios = ratios " " rps[r, n] / rps[r, "none"]
      mr = median(ratios); rlo = lo; rhi = hi
      printf "| %s | %.0f | %.2f | %.2f–%.2f | %.2fms |\n", n, median(rs[n]), mr, rlo, rhi, median(p99[n])
    }
  }' "$work/runs"
