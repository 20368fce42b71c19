#!/usr/bin/env bash
# Runs Debian's WLCS (the Wayland conformance suite) against ghostcomp's compositor state
# through tests/wlcs (a cdylib WLCS loads), every suite in its own process with a timeout,
# then summarises per group and checks the result against expected-failures.txt.
# Uses the parallel runner in ../shared/wlcs. Env: JOBS (8), SUITE_TIMEOUT (400 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED="${SHARED:-$PWD/../shared/wlcs}"
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
"$WLCS_BIN" "$SO" --gtest_list_tests | python3 "$SHARED/expand_list.py" /dev/stdin > "$OUT/tests.txt"
JOBS="${JOBS:-8}" SUITE_TIMEOUT="${SUITE_TIMEOUT:-400}" WLCS_BIN="$WLCS_BIN" \
  python3 "$SHARED/run_suites.py" "$SO" "$OUT" "$OUT/tests.txt" > "$OUT/run.log" 2>&1
python3 tests/wlcs/check.py "$OUT/results.json" tests/wlcs/expected-failures.txt \
  "$SHARED/anvil-v0.7.0_wlcs-1.5.0.tsv" | tee "$OUT/summary.txt"
