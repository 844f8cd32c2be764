#!/usr/bin/env bash
# One-step install of what the main job needs on a fresh machine: OpenBLAS (when root and missing;
# for the optional native kernels), npm packages from the lock file, the TypeScript build, and the
# native addon (skipped with a warning if it cannot be built: everything then runs on the
# pure-TypeScript kernels, more slowly). The tests' extra services (PostgreSQL, Chromium, PyTorch,
# Slurm) are installed by scripts/install-test-deps.sh, which scripts/test.sh calls.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[install] $*"; }
. scripts/apt.sh

apt_install "the native kernels will be skipped" libopenblas-dev

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  # The package's own install hook builds the addon; here it is built once, below, after tsc.
  GSHF_NO_NATIVE=1 npm ci --no-audit --no-fund --loglevel=error
fi

log "tsc build"
npx tsc -p tsconfig.json

if [ -f native/build.sh ]; then
  bash native/build.sh || log "warning: native addon not built; using the pure-TypeScript kernels"
fi
log "done"
