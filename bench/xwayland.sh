#!/usr/bin/env bash
# X11 programs: the time from launching one to its window being on the desktop, cold
# (Xwayland not running: the first X11 program starts it, a fresh compositor each run)
# and warm (Xwayland running), for ghostcomp (release build, headless) and sway 1.7
# (headless, pixman, `xwayland enable`) run one after the other in this session; then
# the ratios (below 1: ghostcomp is faster). A window counts once the compositor's own
# IPC lists it (`ghostcomp msg windows`, `swaymsg -t get_tree`), both polled the same
# way. sway refuses root, so under root it and its X11 programs run as the bench user.
# Usage: bench/xwayland.sh   (env: COLD=5 RUNS=10)
source "$(dirname "$0")/lib.sh"
need sway xwayland x11-apps xterm jq procps util-linux
COLD=${COLD:-5}; RUNS=${RUNS:-10}
build_clients || exit 1
(cd "$BENCH_ROOT" && cargo build --release -q -p ghost-compositor) || exit 1
GHOSTCOMP="$BENCH_ROOT/target/release/ghostcomp"
# wlroots, run as the bench user, would make /tmp/.X11-unix its own: keep it the system's.
if [ "$(id -u)" = 0 ]; then mkdir -p /tmp/.X11-unix && chown root:root /tmp/.X11-unix && chmod 1777 /tmp/.X11-unix; fi
# The bench user writes sway's DISPLAY here.
WORK=$(scratch_dir xwayland) && chmod 777 "$WORK"

# Window listings, one line per X11 window's class.
ghost_classes() { "$GHOSTCOMP" msg --json windows 2>/dev/null | jq -r '.result[] | select(.xwayland and .geometry.width > 0) | .app_id'; }
sway_classes() { swaymsg -t get_tree 2>/dev/null | jq -r '.. | objects | select(.shell? == "xwayland") | .window_properties.class'; }
# appear LISTER CLASS CMD... : launches CMD, sets MS to the time until LISTER shows CLASS
# and LAST to its pid.
appear() {
  local lister=$1 class=$2; shift 2
  local t0 end; t0=$(now_ns); end=$(( t0 + 20000000000 ))
  "$@" >/dev/null 2>&1 & LAST=$!; track "$LAST"
  until "$lister" | grep -qx "$class"; do
    if [ "$(now_ns)" -gt "$end" ]; then MS=fail; return 1; fi
    sleep 0.005
  done
  MS=$(ms_since "$t0")
}
# gone LISTER CLASS : until no window of CLASS is listed.
gone() { local n=0; while "$1" | grep -qx "$2" && [ $n -lt 400 ]; do sleep 0.005; n=$((n + 1)); done; }
X11_APPS="xeyes:XEyes xclock:XClock xterm:XTerm"

start_ghost() {
  start_ghostcomp 1920 1080 || return 1
  export GHOSTCOMP_SOCKET="$XDG_RUNTIME_DIR/ghostcomp.$WAYLAND_DISPLAY.sock"
  wait_for_path "$GHOSTCOMP_SOCKET" 5
  DISPLAY=$("$GHOSTCOMP" msg --json version | jq -r '.result.xwayland.display')
  export DISPLAY
}
sway_conf=$WORK/sway.conf
printf 'output HEADLESS-1 resolution 1920x1080 position 0 0\nxwayland enable\n' >"$sway_conf"; chmod 644 "$sway_conf"
start_peer() {
  start_sway "$sway_conf" || return 1
  rm -f "$WORK/display"
  swaymsg exec "echo \$DISPLAY > $WORK/display" >/dev/null
  wait_for_path "$WORK/display" 5 && sleep 0.05
  DISPLAY=$(cat "$WORK/display"); export DISPLAY
}

# measure NAME START LISTER RUN... : cold and warm appear times, as "NAME_key: value".
measure() {
  local name=$1 start=$2 lister=$3; shift 3
  local cold=() times spec app class i
  for _ in $(seq "$COLD"); do
    "$start" || return 1
    appear "$lister" XEyes "$@" xeyes; cold+=("$MS")
    stop_pid "$LAST"; stop_tree "$COMP_PID"
  done
  echo "${name}_cold_xeyes_ms_median: $(printf '%s\n' "${cold[@]}" | grep -v fail | median)"
  echo "${name}_cold_xeyes_ms_all: ${cold[*]}"
  "$start" || return 1
  appear "$lister" XEyes "$@" xeyes; stop_pid "$LAST"; gone "$lister" XEyes
  for spec in $X11_APPS; do
    app=${spec%%:*}; class=${spec#*:}; times=()
    for i in $(seq "$RUNS"); do
      appear "$lister" "$class" "$@" "$app"; times+=("$MS")
      stop_pid "$LAST"; gone "$lister" "$class"
    done
    echo "${name}_warm_${app}_ms_median: $(printf '%s\n' "${times[@]}" | grep -v fail | median)"
  done
  stop_tree "$COMP_PID"
}

machine >&2
measure ghostcomp start_ghost ghost_classes env >"$WORK/ghost.txt" || exit 1
measure sway start_peer sway_classes "${AS_USER[@]}" >"$WORK/sway.txt" || exit 1
cat "$WORK/ghost.txt" "$WORK/sway.txt"
get() { awk -v k="$2:" '$1==k{print $2}' "$WORK/$1.txt" | head -1; }
echo "# X11 program launch to window, ghostcomp vs sway 1.7 (xwayland $(version_of xwayland)), $(date -u +%F), $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo) x$(nproc)"
for key in cold_xeyes warm_xeyes warm_xclock warm_xterm; do
  g=$(get ghost "ghostcomp_${key}_ms_median"); p=$(get sway "sway_${key}_ms_median")
  awk -v n="$key" -v g="$g" -v p="$p" 'BEGIN{
    r = (p!="" && p+0!=0 && g!="") ? sprintf("%.2f", g/p) : "n/a";
    printf "%-22s ghostcomp %-8s ms  sway %-8s ms  ratio %s\n", n, g, p, r }'
done
