#!/usr/bin/env bash
# Bandit-lab benchmark, gshf vs numpy, in one run:
#   build (npx tsc -p .) -> gen.js writes the shared data (bench/out/bandit.data/) ->
#   for each group (fit d=…, evaluate d=…): gshf side, then numpy side (alternating, so both see the
#   same machine state) -> report.js writes bench/out/bandit.json and bench/out/bandit.md.
#
# Usage: bash bench/bandit/run.sh [--quick] [--no-extra] [--reuse-data]
#   On a shared machine, `nice -n -10 bash bench/bandit/run.sh` (root) gives both sides the same higher
#   priority over other work; the niceness is recorded in the report.
#   --quick       small grid (smoke test, ~30 s)
#   --no-extra    skip the extra columns (gshf pure-TS fit with GSHF_NO_NATIVE=1; numpy with 1 BLAS thread)
#   --reuse-data  keep bench/out/bandit.data/ if its manifest exists
#   --resume      also keep finished parts (bench/out/bandit.parts/*.json) and run only the missing ones
# Env: PYTHON (default python3), BANDIT_QUIET_MAX_WAIT (s, default 60): before each part wait until other
# processes use < 0.3 cores (the machine is shared), at most this long; what was seen goes to busy.tsv.
# The numpy side runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (in that command only), so
# OpenBLAS picks its own kernel; OPENBLAS_VERBOSE=2 logs which core it chose.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
QUICK=0 EXTRA=1 REUSE=0 RESUME=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --no-extra) EXTRA=0 ;;
    --reuse-data) REUSE=1 ;;
    --resume) REUSE=1 RESUME=1 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done
export BANDIT_BENCH_QUICK=$QUICK
OUT=bench/out
PARTS=$OUT/bandit.parts
MAXWAIT=${BANDIT_QUIET_MAX_WAIT:-60}
t_start=$(date +%s)

echo "== build (npx tsc -p .)" >&2
# tsc emits even if other files of the repo have errors; ours must have none.
tsc_log=$(mktemp)
npx tsc -p . >"$tsc_log" 2>&1 || true
if grep -E '^bench/bandit/' "$tsc_log" >&2; then echo "bench/bandit has type errors" >&2; exit 1; fi
rm -f "$tsc_log"
for f in gen bench-gshf report; do test -f "dist/bench/bandit/$f.js" || { echo "dist/bench/bandit/$f.js missing" >&2; exit 1; }; done

mkdir -p "$OUT"
if [ "$REUSE" = 1 ] && [ -f "$OUT/bandit.data/manifest.json" ]; then
  echo "== reusing $OUT/bandit.data" >&2
else
  echo "== generating data" >&2
  node dist/bench/bandit/gen.js
fi
[ "$RESUME" = 1 ] || rm -rf "$PARTS"
mkdir -p "$PARTS"
# Which library code was measured (other engineers commit to the same checkout while this runs).
{ git rev-parse HEAD; git status --porcelain -- src native; } >>"$PARTS/git.txt" 2>/dev/null || true

# CPU used by other processes over 1 s, in cores (from /proc/stat).
busy_cores() {
  local a b
  a=($(head -1 /proc/stat))
  sleep 1
  b=($(head -1 /proc/stat))
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) ))
  local total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  awk -v i="$idle" -v t="$total" -v n="$(nproc)" 'BEGIN { printf "%.2f", (t > 0 ? (1 - i / t) * n : 0) }'
}
quiet() {
  local part=$1 waited=0 b
  while :; do
    b=$(busy_cores)
    if awk -v b="$b" 'BEGIN { exit !(b < 0.3) }' || [ "$waited" -ge "$MAXWAIT" ]; then break; fi
    waited=$((waited + 1))
  done
  printf '%s\t%s\t%s\n' "$part" "$b" "$waited" >>"$PARTS/busy.tsv"
  echo "-- $part (other processes: $b cores, waited ${waited}s)" >&2
}
run_gshf() { # name kind d [env...]
  local name=$1 kind=$2 d=$3; shift 3
  if [ "$RESUME" = 1 ] && [ -f "$PARTS/$name-$kind-d$d.json" ]; then return 0; fi
  quiet "$name-$kind-d$d"
  env "$@" OPENBLAS_VERBOSE=2 node dist/bench/bandit/bench-gshf.js --only "$kind" --d "$d" --out "$PARTS/$name-$kind-d$d.json" \
    2>&1 | tee "$PARTS/$name-$kind-d$d.log" >&2
}
run_numpy() { # name kind d [env...]
  local name=$1 kind=$2 d=$3; shift 3
  if [ "$RESUME" = 1 ] && [ -f "$PARTS/$name-$kind-d$d.json" ]; then return 0; fi
  quiet "$name-$kind-d$d"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@" OPENBLAS_VERBOSE=2 "$PY" bench/bandit/bench_numpy.py --only "$kind" --d "$d" \
    --out "$PARTS/$name-$kind-d$d.json" 2>&1 | tee "$PARTS/$name-$kind-d$d.log" >&2
}

ds() { node -e "const m=require('./$OUT/bandit.data/manifest.json'); console.log([...new Set(m['$1'].map(s=>s.d))].join(' '))"; }
for kind in fit evaluate; do
  for d in $(ds "$kind"); do
    run_gshf gshf "$kind" "$d"
    run_numpy numpy "$kind" "$d"
    if [ "$EXTRA" = 1 ]; then
      # The native addon only matters for fit (dsyrk); evaluate uses no BLAS in gshf.
      if [ "$kind" = fit ]; then run_gshf gshf-ts "$kind" "$d" GSHF_NO_NATIVE=1; fi
      run_numpy numpy-1t "$kind" "$d" OPENBLAS_NUM_THREADS=1
    fi
  done
done
node dist/bench/bandit/report.js
echo "== done in $(( $(date +%s) - t_start )) s: $OUT/bandit.md, $OUT/bandit.json" >&2
cat "$OUT/bandit.md"
