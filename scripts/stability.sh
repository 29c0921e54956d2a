#!/usr/bin/env bash
# Runs `npm test` N times in a row (default 20) while a CPU-bound process (`yes`) runs
# beside it, as on a loaded machine; stops at the first failure and keeps its log.
#   bash scripts/stability.sh [N]
set -u
n="${1:-20}"
cd "$(dirname "$0")/.."
yes > /dev/null &
load=$!
trap 'kill "$load" 2>/dev/null' EXIT
log="${TMPDIR:-/tmp}/runner-native-stability.log"
for i in $(seq 1 "$n"); do
  start=$(date +%s)
  if npm test > "$log" 2>&1; then
    echo "run $i ok in $(( $(date +%s) - start )) s: $(grep -E '^ +[0-9]+ passing' "$log" | tr -s ' ' | tr '\n' ' ')"
  else
    echo "run $i FAILED: see $log"
    exit 1
  fi
done
echo "npm test passed $n times in a row beside a CPU-bound process"
