#!/usr/bin/env bash
# The test command (README, CI): install if needed, build, run every test with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# The addon was built: its tests must run, and fail (not skip) if it does not load.
if [ -f native/build/Release/gshf_native.node ] && [ "${GSHF_NO_NATIVE:-}" != "1" ]; then
  export GSHF_EXPECT_NATIVE=1
fi
node scripts/run-tests.mjs "$@"
