#!/usr/bin/env bash
# Runs the whole test suite: a short fuzz run of the config parser, the Wayland
# conformance suite (WLCS), the KMS tests in a VM, unit, property and in-process protocol tests of every crate,
# and the end-to-end tests that start ghostcomp with real Debian clients.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh
# One build with the features every later step uses, so nothing is compiled twice.
cargo build --workspace --all-targets
# A short fuzz run of every parser of outside input (FUZZ_SECONDS=0 skips it).
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then ./scripts/fuzz.sh "${FUZZ_SECONDS:-30}"; fi
# The Wayland conformance suite against ghostcomp, checked against
# tests/wlcs/expected-failures.txt (WLCS=0 skips it).
if [ "${WLCS:-1}" != 0 ]; then ./tests/wlcs/run.sh; fi
# ghostcomp and the device layer on a real kernel DRM driver (vkms) in a QEMU VM, with
# uinput devices and writeback readback (KMS_VM=0 skips it).
if [ "${KMS_VM:-1}" != 0 ]; then ./scripts/kms-vm-test.sh; fi
# The wire fuzzer's time (tests/tests/wire_fuzz.rs), half of it on a fresh random seed.
export GHOST_WIRE_FUZZ_SECONDS=${GHOST_WIRE_FUZZ_SECONDS:-60}
cargo test --workspace
# A short run of bench/compare.sh against weston and sway with the test build, its
# figures recorded here and never asserted (timings are not tests): a change that
# doubles a cost shows in the next run's log (BENCH=0 skips it).
if [ "${BENCH:-1}" != 0 ]; then
  echo "== bench/compare.sh, quick, test build (opt-level 1: compare runs with each other) =="
  QUICK=1 GHOSTCOMP="$PWD/target/debug/ghostcomp" timeout 600 ./bench/compare.sh ||
    echo "bench/compare.sh did not finish; its figures are not tests"
fi
