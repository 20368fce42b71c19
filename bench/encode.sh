#!/usr/bin/env bash
# Software encoding beside the ffmpeg command line (Debian's FFmpeg 5.1, libx264) on the
# same frames: frames a second and CPU per frame at 1080p and 4K, the picture-to-packet
# delay of a recording job and of a streaming job fed 60 pictures a second, and the
# replay ring's memory per minute. See capture/examples/encode_bench.rs.
# Usage: bench/encode.sh [FRAMES]   (default 120 at 1080p, half that at 4K)
source "$(dirname "$0")/lib.sh"
machine
(cd "$BENCH_ROOT" && cargo build --release -q -p ghost-capture --example encode_bench) || exit 1
"$BENCH_ROOT/target/release/examples/encode_bench" "${1:-120}"
