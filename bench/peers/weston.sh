#!/usr/bin/env bash
# weston 10 (Debian 12) headless with pixman, measured as bench/ghostcomp_headless.sh
# measures ghostcomp: start-up, idle, animating windows, screenshots at 1080p and 4K.
# Env: RUNS (10 starts), DUR (10 s windows), SHOTS (20). Prints "name: value" lines.
source "$(dirname "$0")/../lib.sh"
need weston wayland-utils procps
build_clients || exit 1
RUNS=${RUNS:-10}; DUR=${DUR:-10}; SHOTS=${SHOTS:-20}
cd "$(scratch_dir weston)" && chmod 777 .
echo "weston_version: $(version_of weston)"
machine

measure_startups weston start_weston 1920 1080 || exit 1

start_weston 1920 1080 || exit 1
measure_desktop weston "$COMP_PID"
stop_tree "$COMP_PID"

# Screenshots go through weston's own screenshooter, which needs --debug.
for size in 1920x1080 3840x2160; do
  start_weston "${size%x*}" "${size#*x}" --debug || exit 1
  sleep 1
  times=(); ok=0
  for _ in $(seq "$SHOTS"); do
    read -r ms status < <(time_ms weston-screenshooter)
    times+=("$ms"); [ "$status" = 0 ] && ok=$((ok + 1))
  done
  echo "weston_screenshooter_${size}_ms_median: $(printf '%s\n' "${times[@]}" | median)"
  echo "weston_screenshooter_${size}_ok: $ok/$SHOTS"
  rm -f wayland-screenshot-*.png
  stop_tree "$COMP_PID"
done
