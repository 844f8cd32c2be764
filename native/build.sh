#!/usr/bin/env bash
# Builds the optional native addon native/build/Release/gshf_native.node (OpenBLAS + fused float32
# kernels). Called by scripts/install.sh after `npm ci` and `tsc`; safe to run by hand.
#   GSHF_NO_NATIVE=1     skip (exit 0)
#   GSHF_NODE_GYP=path   use this node-gyp (a .js file or an executable) instead of searching
#   GSHF_BLAS_INCLUDE / GSHF_BLAS_LIBS   override the OpenBLAS flags (see blas-config.sh)
# Exit status is non-zero when the addon could not be built; the library then runs on its
# pure-TypeScript kernels (install.sh turns that into a warning).
set -euo pipefail
cd "$(dirname "$0")"

log() { echo "[native] $*"; }

if [ "${GSHF_NO_NATIVE:-}" = "1" ]; then
  log "GSHF_NO_NATIVE=1: skipping the native addon (pure-TypeScript kernels will be used)"
  exit 0
fi

for tool in cc make python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "error: '$tool' not found (node-gyp needs a C compiler, make and python3)"
    exit 1
  fi
done

inc=$(sh ./blas-config.sh include)
if [ ! -f "$inc/cblas.h" ]; then
  log "error: cblas.h not found (install OpenBLAS headers: apt-get install -y libopenblas-dev)"
  exit 1
fi

# node-gyp: explicit override, the repo's devDependency, one on PATH, or the copy bundled with npm.
gyp=()
if [ -n "${GSHF_NODE_GYP:-}" ]; then
  case "$GSHF_NODE_GYP" in *.js) gyp=(node "$GSHF_NODE_GYP") ;; *) gyp=("$GSHF_NODE_GYP") ;; esac
elif [ -x ../node_modules/.bin/node-gyp ]; then
  gyp=(../node_modules/.bin/node-gyp)
elif command -v node-gyp >/dev/null 2>&1; then
  gyp=(node-gyp)
else
  npm_bin=$(command -v npm || true)
  if [ -n "$npm_bin" ]; then
    npm_root=$(dirname "$(dirname "$(readlink -f "$npm_bin")")")
    for c in "$npm_root/node_modules/node-gyp/bin/node-gyp.js" \
             "$(npm root -g 2>/dev/null)/npm/node_modules/node-gyp/bin/node-gyp.js"; do
      if [ -f "$c" ]; then gyp=(node "$c"); break; fi
    done
  fi
fi
if [ ${#gyp[@]} -eq 0 ]; then
  log "error: node-gyp not found (neither in node_modules, on PATH, nor bundled with npm)"
  exit 1
fi

# Use local Node headers: npm's nodedir setting if any, else /usr when the headers are there
# (otherwise node-gyp would try to download them from nodejs.org).
nodedir_args=()
nd=${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null || true)}
if [ -n "$nd" ] && [ "$nd" != "undefined" ] && [ "$nd" != "null" ]; then
  nodedir_args=(--nodedir="$nd")
else
  node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  if [ -f "$node_prefix/include/node/node_api.h" ]; then nodedir_args=(--nodedir="$node_prefix"); fi
fi

log "building with ${gyp[*]} ${nodedir_args[*]:-}"
start=$(date +%s)
if ! "${gyp[@]}" rebuild "${nodedir_args[@]}" --loglevel=warn; then
  log "error: node-gyp build failed"
  exit 1
fi
out=build/Release/gshf_native.node
if [ ! -f "$out" ]; then
  log "error: $out was not produced"
  exit 1
fi
# Smoke test: load it and run a 2×2 sgemm.
if ! desc=$(node -e '
  const m = require(process.argv[1]);
  const A = new Float32Array([1, 2, 3, 4]), C = new Float32Array(4);
  m.sgemm(false, false, 2, 2, 2, 1, A, 0, 2, A, 0, 2, 0, C, 0, 2);
  if (C.join() !== "7,10,15,22") throw new Error("sgemm smoke test gave " + C.join());
  console.log(m.describe());
' "$(pwd)/$out" 2>&1); then
  log "error: built addon failed its smoke test: $desc"
  rm -f "$out"
  exit 1
fi
log "built native/$out in $(( $(date +%s) - start )) s: $desc"
