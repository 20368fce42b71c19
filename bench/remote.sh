#!/usr/bin/env bash
# Remote desktop over VNC: input-to-photon latency, from a viewer sending a pointer move
# to the first framebuffer update that shows the pointer there (wayvnc 0.5 drawing the
# pointer into its picture, at most 60 updates a second, raw encoding on localhost; the
# viewer is tests/src/bin/ghost-vnc-latency.rs), for ghostcomp (release build, headless,
# 1920x1080@60) and sway 1.7 (headless, pixman; as the bench user under root) run one
# after the other in this session; then the ratio (below 1: ghostcomp is faster).
# Usage: bench/remote.sh   (env: RUNS=40)
source "$(dirname "$0")/lib.sh"
need sway wayvnc jq procps util-linux
RUNS=${RUNS:-40}
build_clients || exit 1
(cd "$BENCH_ROOT" && cargo build --release -q -p ghost-compositor \
  && cargo build --release -q -p ghost-tests --bin ghost-vnc-latency) || exit 1
GHOSTCOMP="$BENCH_ROOT/target/release/ghostcomp"
PROBE="$BENCH_ROOT/target/release/ghost-vnc-latency"
WORK=$(scratch_dir remote) && chmod 777 "$WORK"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# measure NAME AS... : wayvnc against the running compositor (started as AS...), then
# the probe; prints "NAME_pointer_ms_median: …" and the 90th percentile.
measure() {
  local name=$1 port; shift
  port=$(free_port)
  XDG_CONFIG_HOME="$WORK" "$@" wayvnc --render-cursor --max-fps=60 --output=HEADLESS-1 \
    127.0.0.1 "$port" >"$WORK/$name-wayvnc.log" 2>&1 &
  local vnc=$!; track "$vnc"
  local out; out=$("$PROBE" "$port" "$RUNS") || { note "$name: the probe failed"; cat "$WORK/$name-wayvnc.log" >&2; return 1; }
  read -r median p90 runs <<<"$out"
  echo "${name}_pointer_ms_median: $median"
  echo "${name}_pointer_ms_p90: $p90"
  echo "${name}_runs: $runs"
  stop_pid "$vnc"
}

machine >&2
start_ghostcomp 1920 1080 || exit 1
measure ghostcomp env >"$WORK/ghost.txt" || exit 1
stop_tree "$COMP_PID"
sway_conf=$WORK/sway.conf
printf 'output HEADLESS-1 resolution 1920x1080 position 0 0\n' >"$sway_conf"; chmod 644 "$sway_conf"
start_sway "$sway_conf" || exit 1
WAYLAND_DISPLAY=$(basename "$(ls "$XDG_RUNTIME_DIR"/wayland-* | grep -v lock | head -1)")
export WAYLAND_DISPLAY
measure sway "${AS_USER[@]}" >"$WORK/sway.txt" || exit 1
stop_tree "$COMP_PID"
cat "$WORK/ghost.txt" "$WORK/sway.txt"
get() { awk -v k="$2:" '$1==k{print $2}' "$WORK/$1.txt" | head -1; }
echo "# VNC pointer-to-photon, ghostcomp vs sway 1.7 (wayvnc $(version_of wayvnc)), $(date -u +%F), $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo) x$(nproc)"
for key in pointer_ms_median pointer_ms_p90; do
  g=$(get ghost "ghostcomp_$key"); p=$(get sway "sway_$key")
  awk -v n="$key" -v g="$g" -v p="$p" 'BEGIN{
    r = (p!="" && p+0!=0 && g!="") ? sprintf("%.2f", g/p) : "n/a";
    printf "%-20s ghostcomp %-8s ms  sway %-8s ms  ratio %s\n", n, g, p, r }'
done
