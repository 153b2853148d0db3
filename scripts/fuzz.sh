#!/usr/bin/env bash
# Runs each Fuzz target of the root module for the given time (default 3s).
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-3s}
grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./\(examples\|benchmarks\)/' | while read -r f; do
  pkg=./$(dirname "${f#./}")
  for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
    echo "== fuzz $pkg $name ($t)"
    go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" "$pkg" > /tmp/fuzz.$$.log 2>&1 || { cat /tmp/fuzz.$$.log; exit 1; }
    tail -1 /tmp/fuzz.$$.log
  done
done
