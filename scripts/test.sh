#!/usr/bin/env bash
# The test command (README, CI): install if needed (the main job's packages and the tests' extra
# services), build, run every test with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/install-test-deps.sh
# PostgreSQL installed: its tests must run (a missing server then fails instead of skipping).
if dpkg -s postgresql >/dev/null 2>&1; then export GSHF_EXPECT_PG=1; fi
# PyTorch installed (Debian's python3-torch lives in /usr/bin/python3, which need not be the python3
# first on PATH): the reference checks must run, with GSHF_PYTHON naming the interpreter that has it.
for py in "${GSHF_PYTHON:-}" /usr/bin/python3 python3; do
  if [ -n "$py" ] && "$py" -c 'import torch' >/dev/null 2>&1; then
    export GSHF_PYTHON="$py" GSHF_EXPECT_TORCH=1
    break
  fi
done
# Slurm installed: the one-node cluster test must run.
if command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1; then export GSHF_EXPECT_SLURM=1; fi
# The addon was built: its tests must run, and fail (not skip) if it does not load.
if [ -f native/build/Release/gshf_native.node ] && [ "${GSHF_NO_NATIVE:-}" != "1" ]; then
  export GSHF_EXPECT_NATIVE=1
fi
node scripts/run-tests.mjs "$@"
