#!/usr/bin/env bash
# Hostile clients against ghostcomp, weston 10 and sway 1.7 (headless, pixman), each
# attack on a fresh compositor, one compositor after another in one session. Per attack
# and compositor: whether it survived (under the same open-file limits), how it answered the attacker (refused: protocol
# error or hang-up), how long a new client then waited for its first round trip
# (recovery), peak RSS and open descriptors during the attack, and the frame rate of an
# animating 256x256 window during and after it.
# Usage: bench/hostile.sh   (env: COMPOSITORS="ghostcomp weston sway")
source "$(dirname "$0")/lib.sh"
need weston sway procps
build_clients || exit 1
(cd "$BENCH_ROOT" && cargo build --release -q -p ghost-compositor -p ghost-tests --bin ghostcomp --bin ghost-attack) || exit 1
GHOSTCOMP="$BENCH_ROOT/target/release/ghostcomp"
ATTACK="$BENCH_ROOT/target/release/ghost-attack"
WORK=$(scratch_dir hostile); chmod 755 "$WORK"; cd "$WORK" || exit 1
printf 'output HEADLESS-1 resolution 1920x1080 position 0 0\nxwayland disable\n' >sway.conf; chmod 644 sway.conf
# ATTACKS (env): which to run, separated by |.
IFS='|' read -r -a ATTACKS <<<"${ATTACKS:-malformed|connections 4000|chain 10000|flood 5|hoard 200000}"
machine
# A desktop session's usual open-file limits (soft 1024, hard raised to 4096 here so
# that 4000 connections exceed what every compositor may hold): each compositor keeps
# or raises its soft limit as it does by itself; the attacker raises its own to the hard.
ulimit -Sn 1024 && ulimit -Hn 4096 || exit 1

start_compositor() {
  case $1 in
    ghostcomp) start_ghostcomp 1920 1080 ;;
    weston) start_weston 1920 1080 ;;
    sway) start_sway "$WORK/sway.conf" ;;
  esac
}

# sample_peaks PID FILE : the highest RSS (KiB) and descriptor count of PID, written to
# FILE when FILE.stop appears.
sample_peaks() {
  local pid=$1 file=$2 rss fds peak_rss=0 peak_fds=0
  while [ ! -e "$file.stop" ]; do
    rss=$(rss_kb "$pid"); fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
    [ "${rss:-0}" -gt "$peak_rss" ] && peak_rss=$rss
    [ "$fds" -gt "$peak_fds" ] && peak_fds=$fds
    sleep 0.05
  done
  echo "$peak_rss $peak_fds" >"$file"
}

fps_of() { awk '/^fps:/ { print $2 }' "$1" 2>/dev/null; }

for comp in ${COMPOSITORS:-ghostcomp weston sway}; do
  for attack in "${ATTACKS[@]}"; do
    name="${comp}_${attack%% *}"
    start_compositor "$comp" || { echo "${name}_started: no"; continue; }
    sleep 1
    "$ANIMATE" -w 256 -h 256 -d 600 >during.out 2>&1 & BY=$!; track $BY
    rm -f peaks peaks.stop
    sample_peaks "$COMP_PID" peaks & SAMPLER=$!
    sleep 1
    # shellcheck disable=SC2086
    timeout 120 "$ATTACK" $attack >attack.out 2>&1
    # Recovery: from the attack's end until a new client's first round trip is answered.
    recovery=$("$WL_READY" "$(now_ns)" 20000 | awk '/^ready_ms:/ { print $2 }')
    sleep 1
    touch peaks.stop; wait $SAMPLER
    kill -TERM $BY 2>/dev/null; wait $BY 2>/dev/null
    if kill -0 "$COMP_PID" 2>/dev/null; then
      echo "${name}_alive: yes"
      echo "${name}_recovery_ms: ${recovery:-none}"
      "$ANIMATE" -w 256 -h 256 -d 3 >after.out 2>&1
      echo "${name}_fps_after: $(fps_of after.out)"
    else
      echo "${name}_alive: no"
    fi
    echo "${name}_outcome: $(awk '/^outcome:/ { print $2 }' attack.out)"
    read -r peak_rss peak_fds <peaks
    echo "${name}_peak_rss_mib: $(mib "$peak_rss")"
    echo "${name}_peak_fds: $peak_fds"
    echo "${name}_fps_during: $(fps_of during.out)"
    stop_tree "$COMP_PID"
  done
done
