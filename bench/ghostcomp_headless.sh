#!/usr/bin/env bash
# ghostcomp headless (pixman), measured exactly as bench/peers/ measures weston and sway
# (the same start-up probe, animating client and CPU/RSS sampling from bench/lib.sh).
# Usage: bench/ghostcomp_headless.sh   (env: RUNS=10 startup runs, DUR=10 s CPU window, SHOTS=20;
# GHOSTCOMP=path measures that binary instead of building the release one)
# Prints "name: value" lines.
source "$(dirname "$0")/lib.sh"
need procps
build_clients || exit 1
if [ -z "${GHOSTCOMP:-}" ]; then
  (cd "$BENCH_ROOT" && cargo build --release -q -p ghost-compositor) || exit 1
  GHOSTCOMP="$BENCH_ROOT/target/release/ghostcomp"
fi

RUNS=${RUNS:-10}; DUR=${DUR:-10}; SHOTS=${SHOTS:-20}
WORK=$(scratch_dir ghostcomp); cd "$WORK" || exit 1
machine

measure_startups ghostcomp start_ghostcomp 1920 1080 || exit 1

start_ghostcomp 1920 1080 || exit 1
measure_desktop ghostcomp "$COMP_PID"
stop_tree "$COMP_PID"

for res in 1920x1080 3840x2160; do
  start_ghostcomp "${res%x*}" "${res#*x}" || exit 1
  sleep 1
  ts=(); ok=0
  for i in $(seq "$SHOTS"); do
    read -r ms rc < <(time_ms "$GHOSTCOMP" msg screenshot "$WORK/shot.png")
    ts+=("$ms"); [ "$rc" = 0 ] && ok=$((ok+1))
  done
  echo "ghostcomp_screenshot_png_${res}_ms_median: $(printf '%s\n' "${ts[@]}" | median)"
  echo "ghostcomp_screenshot_png_${res}_ok: $ok/$SHOTS"
  measure_animation ghostcomp_${res}_anim1_1280x720 "$COMP_PID" 1 1280 720
  stop_tree "$COMP_PID"
done
