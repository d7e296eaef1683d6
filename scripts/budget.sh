#!/usr/bin/env bash
# budget.sh [REV] — what the release binary costs: its stripped size, the
# package initialisation of `stacksync version` (median of 21 runs, the
# packages whose init takes time, grouped by module), its wall time (median
# of 40 runs), and the modules and module zips a cold `go install` fetches
# for it. With REV (a commit), the same for that commit, side by side, from
# a temporary worktree. Prints a Markdown table; changes nothing in the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/base" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

measure() { # dir label
  local dir=$1 label=$2 bin=$tmp/$2
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin" ./cmd/stacksync)
  local size; size=$(stat -c %s "$bin")
  local init
  init=$(for _ in $(seq 21); do GODEBUG=inittrace=1 "$bin" version 2>&1 >/dev/null | awk '/^init/ {s+=$5} END {print s}'; done |
    sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  local wall
  wall=$(python3 -c '
import subprocess, sys, time, statistics
t = []
for _ in range(40):
    s = time.perf_counter(); subprocess.run([sys.argv[1], "version"], stdout=subprocess.DEVNULL); t.append((time.perf_counter() - s) * 1000)
print("%.1f" % statistics.median(t))' "$bin")
  local mods n=0 zips=0
  mods=$(cd "$dir" && go list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{end}}{{end}}' ./cmd/stacksync | sort -u)
  local cache; cache=$(go env GOMODCACHE)/cache/download
  while read -r p v; do
    [ -n "$p" ] || continue
    n=$((n + 1))
    local ep; ep=$(printf '%s' "$p" | sed -E 's/([A-Z])/!\L\1/g')
    local f=$cache/$ep/@v/$v.zip
    [ -f "$f" ] || (cd "$dir" && go mod download "$p@$v" >/dev/null)
    zips=$((zips + $(stat -c %s "$f")))
  done <<<"$mods"
  printf '| %s | %.1f MB | %s ms | %s ms | %d | %.0f MiB |\n' "$label" "$(echo "$size / 1000000" | bc -l)" "$init" "$wall" "$n" "$(echo "$zips / 1048576" | bc -l)"
}

echo "| build | stripped binary | package init (median) | \`stacksync version\` wall (median) | modules built | module zips |"
echo "|---|---|---|---|---|---|"
if [ $# -gt 0 ]; then
  git worktree add -q --detach "$tmp/base" "$1"
  measure "$tmp/base" "$(git rev-parse --short "$1")"
fi
measure . "$(git rev-parse --short HEAD)$([ -n "$(git status --porcelain)" ] && echo +dirty)"
