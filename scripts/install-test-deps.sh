#!/usr/bin/env bash
# What the tests need beyond the main job (scripts/install.sh): PostgreSQL (the store tests start a
# throwaway cluster themselves), Chromium (the browser tests, driven by playwright-core), PyTorch
# (reference checks and the example external trainer), and Slurm + munge (a one-node cluster on
# loopback for the scale-out test). Each test suite fails, rather than skips, when its package is
# installed but does not work (scripts/test.sh sets the GSHF_EXPECT_* variables).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh

apt_install "the PostgreSQL store tests will be skipped" postgresql
apt_install "the browser tests will be skipped" chromium
apt_install "the PyTorch reference tests will be skipped" python3-torch
apt_install "the Slurm test will be skipped" slurm-wlm munge
