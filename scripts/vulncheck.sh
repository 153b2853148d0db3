#!/usr/bin/env bash
# Scans modules with govulncheck and fails on any vulnerability their code
# calls (govulncheck's own exit status). The database is vuln.go.dev; where
# that host cannot be reached, the offline snapshot beside the repository
# (../shared/vulndb, whose README says where it comes from; VULNDB overrides
# the path), and the output names the snapshot's date. The scan is never
# skipped: with neither database it fails under CI=true, and says NOT
# CHECKED otherwise.
#
#   scripts/vulncheck.sh [module directory...]   (make vulncheck: every module)
#
# GOVULNCHECK names the binary (default govulncheck from PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
govulncheck=${GOVULNCHECK:-govulncheck}
modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=(.)
snapshot=${VULNDB:-../shared/vulndb}
[[ $snapshot = /* ]] || snapshot=$PWD/$snapshot

online() {
  command -v curl >/dev/null && curl -sf -o /dev/null --max-time 15 https://vuln.go.dev/index/db.json
}

db=()
if online; then
  echo "govulncheck: database vuln.go.dev (online)"
elif [ -f "$snapshot/index/db.json" ]; then
  snapshot=$(cd "$snapshot" && pwd -P)
  modified=$(sed -n 's/.*"modified" *: *"\([^"]*\)".*/\1/p' "$snapshot/index/db.json")
  [ -n "$modified" ] || { echo "!! govulncheck: $snapshot/index/db.json has no modified date" >&2; exit 1; }
  echo "govulncheck: vuln.go.dev cannot be reached; database: the offline snapshot in $snapshot," \
    "database snapshot of ${modified%%T*} (modified $modified); entries published since are not in it"
  db=(-db "file://$snapshot")
else
  echo "!! govulncheck: vuln.go.dev cannot be reached and there is no snapshot at $snapshot; NOT CHECKED" >&2
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi

failed=()
for m in "${modules[@]}"; do
  echo "== govulncheck ($m)"
  (cd "$m" && "$govulncheck" "${db[@]}" ./...) || failed+=("$m")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "!! govulncheck: findings (or a failed scan) in: ${failed[*]}" >&2
  exit 1
fi
