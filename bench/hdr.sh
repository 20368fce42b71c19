#!/usr/bin/env bash
# The colour-managed GLES path's frame time: ghostcomp headless with GLES at 3840x2160,
# ten animating 1280x720 windows (full damage every frame), once with the output in SDR
# (sRGB encode into 8 bits) and once in HDR (PQ/BT.2020 into 10 bits); both draw through
# the half-float blending buffer. Each frame's time is measured inside the compositor
# from the start of drawing to the GPU's finish (`msg outputs` frames.drawing_ns), over
# DUR seconds after a warm-up.
# Usage: bench/hdr.sh [GHOSTCOMP ANIMATE WL_READY]   (env: DUR=10; default: build here)
# Prints "name: value" lines.
source "$(dirname "$0")/lib.sh"
if [ $# -ge 3 ]; then
  GHOSTCOMP=$1 ANIMATE=$2 WL_READY=$3
else
  build_clients || exit 1
  (cd "$BENCH_ROOT" && cargo build --release -q -p ghost-compositor) || exit 1
  GHOSTCOMP="$BENCH_ROOT/target/release/ghostcomp"
fi
DUR=${DUR:-10}
WORK=$(scratch_dir hdr)
machine

# outputs_field JQ-PATH : a number from `ghostcomp msg outputs` (first output).
outputs_field() {
  "$GHOSTCOMP" msg outputs 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)[0]$1)"
}

for mode in sdr hdr; do
  hdr=off; [ "$mode" = hdr ] && hdr=on
  mkdir -p "$WORK/$mode/ghostcomp"
  printf '[[output]]\nname = "HEADLESS-1"\nhdr = "%s"\nmax_luminance = 1000.0\n' "$hdr" \
    >"$WORK/$mode/ghostcomp/config.toml"
  fresh_runtime_dir
  export WAYLAND_DISPLAY=wl-bench-hdr
  t0=$(now_ns)
  XDG_CONFIG_HOME="$WORK/$mode" NO_COLOR=1 RUST_LOG=info "$GHOSTCOMP" --backend headless --renderer gles \
    --socket "$WAYLAND_DISPLAY" --output 3840x2160@60 2>"$WORK/$mode.log" &
  COMP_PID=$!; track "$COMP_PID"
  "$WL_READY" "$t0" 15000 >/dev/null 2>&1 || sleep 3
  pids=()
  for i in $(seq 10); do
    "$ANIMATE" -w 1280 -h 720 -d "$(( DUR + 6 ))" >"$WORK/$mode-$i.out" 2>&1 &
    pids+=("$!"); track "$!"
  done
  sleep 4
  f0=$(outputs_field "['frames']['timed_frames']"); n0=$(outputs_field "['frames']['drawing_ns']")
  w0=$(now_ns); sleep "$DUR"; w1=$(now_ns)
  f1=$(outputs_field "['frames']['timed_frames']"); n1=$(outputs_field "['frames']['drawing_ns']")
  on=$(outputs_field "['colour']['hdr']")
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; stop_pid "$p"; done
  gl=$(grep -o 'gl="[^"]*"' "$WORK/$mode.log" | head -n1 | cut -d'"' -f2)
  stop_tree "$COMP_PID"
  echo "gles_renderer: ${gl:-unknown}"
  echo "gles_4k_10win_${mode}_output_hdr: $on"
  awk -v f=$(( f1 - f0 )) -v n=$(( n1 - n0 )) -v w=$(( w1 - w0 )) -v m="$mode" 'BEGIN {
    printf "gles_4k_10win_%s_frame_ms_mean: %.2f\n", m, f ? n / f / 1e6 : 0
    printf "gles_4k_10win_%s_frames_per_s: %.1f\n", m, f / (w / 1e9) }'
done
