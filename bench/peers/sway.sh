#!/usr/bin/env bash
# sway 1.7 (wlroots 0.15, Debian 12) headless with pixman, measured as
# bench/ghostcomp_headless.sh measures ghostcomp, and grim through wlr-screencopy at 1080p
# and 4K (PNG, and PPM which costs no encoding), and a recorder's reused-buffer screencopy
# (`ghost-copy-loop`, at $COPY_LOOP where set). Env: RUNS (10), DUR (10 s), SHOTS (20).
source "$(dirname "$0")/../lib.sh"
need sway grim foot wayland-utils jq procps util-linux
build_clients || exit 1
RUNS=${RUNS:-10}; DUR=${DUR:-10}; SHOTS=${SHOTS:-20}
cd "$(scratch_dir sway)" && chmod 755 .
CONFIG=$PWD/sway.conf
# Headless output at a given mode, no bar, no Xwayland, no idle.
sway_config() { printf 'output HEADLESS-1 resolution %s position 0 0\nxwayland disable\n' "$1" >"$CONFIG"; chmod 644 "$CONFIG"; }
echo "sway_version: $(version_of sway)"
echo "grim_version: $(version_of grim)"
machine

sway_config 1920x1080
measure_startups sway start_sway "$CONFIG" || exit 1

start_sway "$CONFIG" || exit 1
measure_desktop sway "$COMP_PID"
stop_tree "$COMP_PID"

for size in 1920x1080 3840x2160; do
  sway_config "$size"
  start_sway "$CONFIG" || exit 1
  # Something on screen, so the picture is not one flat colour.
  foot -e sleep 60 >/dev/null 2>&1 & term=$!; track "$term"
  sway_has_window foot 10; sleep 0.5
  for format in png ppm; do
    times=(); ok=0
    for _ in $(seq "$SHOTS"); do
      read -r ms status < <(time_ms grim -t "$format" "shot.$format")
      times+=("$ms"); [ "$status" = 0 ] && ok=$((ok + 1))
    done
    echo "sway_grim_${format}_${size}_ms_median: $(printf '%s\n' "${times[@]}" | median)"
    echo "sway_grim_${format}_${size}_ok: $ok/$SHOTS"
  done
  if [ -x "${COPY_LOOP:-}" ]; then
    "$COPY_LOOP" 50 | sed -n "s/^\(request\|copy\)_to_ready_ms:/sway_copy_\1_${size}_ms:/p"
  fi
  stop_pid "$term"
  stop_tree "$COMP_PID"
done
