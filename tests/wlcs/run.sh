#!/usr/bin/env bash
# Runs Debian's WLCS (the Wayland conformance suite) against ghostcomp's compositor state
# through tests/wlcs (a cdylib WLCS loads), every suite in its own process with a timeout,
# then summarises per group and checks the result against expected-failures.txt.
# anvil-results.tsv holds smithay's anvil 0.7.0 verdicts under the same WLCS (1.5.0),
# printed beside ours. Env: JOBS (8), SUITE_TIMEOUT (400 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
WLCS_BIN=/usr/lib/x86_64-linux-gnu/wlcs/wlcs
if [ ! -x "$WLCS_BIN" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends wlcs >&2
fi
cargo build -q --workspace --all-targets
SO="$PWD/target/debug/libghost_wlcs.so"
OUT="$PWD/target/wlcs"
rm -rf "$OUT"; mkdir -p "$OUT"
JOBS="${JOBS:-8}" SUITE_TIMEOUT="${SUITE_TIMEOUT:-400}" \
  python3 tests/wlcs/run_suites.py "$WLCS_BIN" "$SO" "$OUT" > "$OUT/run.log" 2>&1
python3 tests/wlcs/check.py "$OUT/results.json" tests/wlcs/expected-failures.txt \
  tests/wlcs/anvil-results.tsv | tee "$OUT/summary.txt"
