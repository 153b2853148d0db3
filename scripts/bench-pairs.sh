#!/usr/bin/env bash
# Measures the targets that are ratios (Gatehouse against the floor or a
# bare parse in the same run) by interleaving: each round runs every
# contender once, one after the other, so that the machine's drift hits
# both sides of a ratio alike. Prints each ratio's median over the rounds.
#
#   scripts/bench-pairs.sh [rounds, default 9]
set -euo pipefail
cd "$(dirname "$0")/../benchmarks"
rounds=${1:-9}
bin=$(mktemp)
trap 'rm -f "$bin"' EXIT
go test -c -o "$bin" .
pattern='^Benchmark(APIKey|Session)$/^(floor|gatehouse)$|^BenchmarkJWT$/^HS256$/^(bare|gatehouse-first|gatehouse-cached|echo-jwt)$'
for _ in $(seq "$rounds"); do
  "$bin" -test.run '^$' -test.bench "$pattern" -test.benchtime 400ms | grep '^Benchmark'
done | awk '
  { name = $1; sub(/-[0-9]+$/, "", name); v[name] = $3 }
  /Session\/gatehouse/ {
    r["API key: gatehouse / floor"] = r["API key: gatehouse / floor"] " " v["BenchmarkAPIKey/gatehouse"] / v["BenchmarkAPIKey/floor"]
    r["session: gatehouse / floor"] = r["session: gatehouse / floor"] " " v["BenchmarkSession/gatehouse"] / v["BenchmarkSession/floor"]
    r["JWT HS256: first-seen / bare"] = r["JWT HS256: first-seen / bare"] " " v["BenchmarkJWT/HS256/gatehouse-first"] / v["BenchmarkJWT/HS256/bare"]
    r["JWT HS256: echo-jwt / cached"] = r["JWT HS256: echo-jwt / cached"] " " v["BenchmarkJWT/HS256/echo-jwt"] / v["BenchmarkJWT/HS256/gatehouse-cached"]
  }
  END {
    for (k in r) {
      n = split(r[k], a, " ")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      med = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
      printf "%-32s median %.2fx  (min %.2f, max %.2f, %d rounds)\n", k, med, a[1], a[n], n
    }
  }' | sort
