#!/usr/bin/env bash
# The test command (README, CI): install if needed (the main job's packages and the tests' extra
# services), build, run every test with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/install-test-deps.sh
# PostgreSQL installed: its tests must run (a missing server then fails instead of skipping).
if dpkg -s postgresql >/dev/null 2>&1; then export GSHF_EXPECT_PG=1; fi
# PyTorch installed: the reference checks must run.
if python3 -c 'import torch' >/dev/null 2>&1; then export GSHF_EXPECT_TORCH=1; fi
# Slurm installed: the one-node cluster test must run.
if command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1; then export GSHF_EXPECT_SLURM=1; fi
# The addon was built: its tests must run, and fail (not skip) if it does not load.
if [ -f native/build/Release/gshf_native.node ] && [ "${GSHF_NO_NATIVE:-}" != "1" ]; then
  export GSHF_EXPECT_NATIVE=1
fi
node scripts/run-tests.mjs "$@"
