#!/usr/bin/env bash
# One-step install for a fresh machine: Debian packages (when root and missing), npm packages from
# the lock file, the TypeScript build, and the optional native addon (skipped with a warning if it
# cannot be built: everything then runs on the pure-TypeScript kernels, more slowly).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[install] $*"; }

need_pkgs=()
for p in libopenblas-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    log "apt-get install ${need_pkgs[*]}"
    (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >/dev/null) \
      || log "warning: could not install ${need_pkgs[*]}; the native kernels will be skipped"
  else
    log "warning: ${need_pkgs[*]} missing and not root; the native kernels will be skipped"
  fi
fi

# Annotation service tests: PostgreSQL (the tests start a throwaway cluster themselves; the system
# service is not needed) and Chromium (the browser test, driven by playwright-core).
annot_pkgs=()
for p in postgresql chromium; do
  dpkg -s "$p" >/dev/null 2>&1 || annot_pkgs+=("$p")
done
if [ ${#annot_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    log "apt-get install ${annot_pkgs[*]}"
    (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${annot_pkgs[@]}" >/dev/null) \
      || log "warning: could not install ${annot_pkgs[*]}; the PostgreSQL / browser tests will be skipped"
  else
    log "warning: ${annot_pkgs[*]} missing and not root; the PostgreSQL / browser tests will be skipped"
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

log "tsc build"
npx tsc -p tsconfig.json

if [ -f native/build.sh ]; then
  bash native/build.sh || log "warning: native addon not built; using the pure-TypeScript kernels"
fi
log "done"
