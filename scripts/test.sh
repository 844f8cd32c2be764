#!/usr/bin/env bash
# The test command (README, CI): install if needed, build, run every test with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
node scripts/run-tests.mjs "$@"
