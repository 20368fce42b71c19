#!/usr/bin/env bash
# The clean microphone's chain: real-time factor on one core over the noisy clips of
# voice/tests/data (voice/examples/rtf.rs), each set of options.
source "$(dirname "$0")/lib.sh"
machine
(cd "$BENCH_ROOT" && cargo run --release -q -p ghost-voice --example rtf)
