#!/usr/bin/env bash
# CPU profiles (node --cpu-prof) of the gshf cases that lose to numpy, summarised by self time.
# Needs the data of run.sh (bench/out/bandit.data). Profiles go to bench/out/bandit.prof/.
# Usage: bash bench/bandit/profile.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
P=bench/out/bandit.prof
rm -rf "$P"
mkdir -p "$P"
prof() { # name [env...] -- args...
  local name=$1; shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" node --cpu-prof --cpu-prof-dir="$P" --cpu-prof-name="$name.cpuprofile" \
    dist/bench/bandit/bench-gshf.js --out "$P/$name.json" "$@" 2>&1 | grep -v '^Core' >&2
  node dist/bench/bandit/prof-summary.js "$P/$name.cpuprofile" 12 | tee "$P/$name.txt"
}
prof fit-d4-n1e4-native GSHF_QUIET=1 -- --only fit --d 4 --n 10000 --mode excl
prof fit-d4-n1e4-ts GSHF_NO_NATIVE=1 -- --only fit --d 4 --n 10000 --mode excl
prof fit-d8-n1e5-ts GSHF_NO_NATIVE=1 -- --only fit --d 8 --n 100000 --mode excl
prof fit-d32-n1e5 GSHF_QUIET=1 -- --only fit --d 32 --n 100000 --mode excl
prof fit-d128-n1e5 GSHF_QUIET=1 -- --only fit --d 128 --n 100000 --mode excl
prof eval-d8-C1e4 GSHF_QUIET=1 -- --only evaluate --d 8 --n 10000
prof eval-d32-C1e4 GSHF_QUIET=1 -- --only evaluate --d 32 --n 10000
