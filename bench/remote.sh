#!/usr/bin/env bash
# Remote input: input-to-photon latency of each path, for ghostcomp (release build,
# headless, 1920x1080@60) and sway 1.7 (headless, pixman; as the bench user under root)
# run one after the other in this session; then the ratio (below 1: ghostcomp is
# faster) where sway has the path.
# - VNC: from a viewer sending a pointer move to the first framebuffer update that
#   shows the pointer there (wayvnc 0.5 drawing the pointer into its picture, at most
#   60 updates a second, raw encoding on localhost; tests/src/bin/ghost-vnc-latency.rs).
# - The virtual pointer, the RemoteDesktop portal's NotifyPointerMotionAbsolute and
#   libei through ConnectToEIS (ghostcomp only: sway's portal, xdg-desktop-portal-wlr,
#   has no RemoteDesktop): from the injection to the first wlr-screencopy frame (pointer
#   drawn in) that shows the pointer there (tests/src/bin/ghost-input-latency.rs; the
#   portal and libei injectors are tests/portal's clients with --serve; the grant is
#   answered at the prompt with ghostcomp msg cast-pick).
# Usage: bench/remote.sh   (env: RUNS=40)
source "$(dirname "$0")/lib.sh"
if [ -z "${GHOST_BENCH_DBUS:-}" ]; then
  GHOST_BENCH_DBUS=1 exec dbus-run-session -- bash "$0" "$@"
fi
need sway wayvnc jq procps util-linux pipewire wireplumber xdg-desktop-portal
RUNS=${RUNS:-40}
build_clients || exit 1
(cd "$BENCH_ROOT" && cargo build --release -q -p ghost-compositor \
  && cargo build --release -q -p ghost-tests --bin ghost-vnc-latency --bin ghost-input-latency) || exit 1
"$BENCH_ROOT/scripts/libei.sh" "$BENCH_ROOT/target/libei" || exit 1
GHOSTCOMP="$BENCH_ROOT/target/release/ghostcomp"
PROBE="$BENCH_ROOT/target/release/ghost-vnc-latency"
INPUT_PROBE="$BENCH_ROOT/target/release/ghost-input-latency"
LIBEI="$BENCH_ROOT/target/libei/usr/lib/x86_64-linux-gnu/libei.so.1"
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

# probe NAME PATH AS... : ghost-input-latency through PATH ("virtual-pointer" or
# "-- INJECTOR…"), run as AS...; prints NAME's median and 90th percentile.
probe() {
  local name=$1 out; shift
  local as=()
  while [ "$1" != "::" ]; do as+=("$1"); shift; done; shift
  out=$("${as[@]}" "$INPUT_PROBE" "$RUNS" 1920x1080 "$@") || { note "$name: the probe failed"; return 1; }
  read -r median p90 runs <<<"$out"
  echo "${name}_ms_median: $median"
  echo "${name}_ms_p90: $p90"
}

# grant_when_asked : answers ghostcomp's next consent prompt (the user's click).
grant_when_asked() {
  ( for _ in $(seq 300); do "$GHOSTCOMP" msg cast-pick "$@" >/dev/null 2>&1 && exit 0; sleep 0.1; done ) &
}

machine >&2
start_ghostcomp 1920 1080 || exit 1
{
  measure ghostcomp env
  probe ghostcomp_virtual_pointer env :: virtual-pointer
  pipewire >"$WORK/pipewire.log" 2>&1 & track $!
  wait_for_path "$XDG_RUNTIME_DIR/pipewire-0" 10
  wireplumber >"$WORK/wireplumber.log" 2>&1 & track $!
  "$GHOSTCOMP" portal >"$WORK/portal.log" 2>&1 & track $!
  sleep 0.5
  mkdir -p "$WORK/portals"; cp "$BENCH_ROOT/data/portal/ghost.portal" "$WORK/portals/"
  XDG_CURRENT_DESKTOP=ghost XDG_DESKTOP_PORTAL_DIR="$WORK/portals" \
    /usr/libexec/xdg-desktop-portal -r >"$WORK/xdp.log" 2>&1 & track $!
  sleep 1.5
  grant_when_asked --output HEADLESS-1
  probe ghostcomp_portal env :: -- /usr/bin/python3 "$BENCH_ROOT/tests/portal/remote_client.py" --serve
  grant_when_asked
  probe ghostcomp_eis env :: -- /usr/bin/python3 "$BENCH_ROOT/tests/portal/eis_client.py" \
    --libei "$LIBEI" --devices 2 --serve
} >"$WORK/ghost.txt" || exit 1
stop_tree "$COMP_PID"
sway_conf=$WORK/sway.conf
printf 'output HEADLESS-1 resolution 1920x1080 position 0 0\n' >"$sway_conf"; chmod 644 "$sway_conf"
start_sway "$sway_conf" || exit 1
WAYLAND_DISPLAY=$(basename "$(ls "$XDG_RUNTIME_DIR"/wayland-* | grep -v lock | head -1)")
export WAYLAND_DISPLAY
{
  measure sway "${AS_USER[@]}"
  probe sway_virtual_pointer "${AS_USER[@]}" :: virtual-pointer
} >"$WORK/sway.txt" || exit 1
stop_tree "$COMP_PID"
cat "$WORK/ghost.txt" "$WORK/sway.txt"
get() { awk -v k="$2:" '$1==k{print $2}' "$WORK/$1.txt" | head -1; }
echo "# remote input-to-photon, ghostcomp vs sway 1.7 (wayvnc $(version_of wayvnc)), $(date -u +%F), $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo) x$(nproc)"
for key in pointer_ms_median pointer_ms_p90 virtual_pointer_ms_median virtual_pointer_ms_p90 \
    portal_ms_median portal_ms_p90 eis_ms_median eis_ms_p90; do
  g=$(get ghost "ghostcomp_$key"); p=$(get sway "sway_$key")
  awk -v n="$key" -v g="$g" -v p="$p" 'BEGIN{
    r = (p!="" && p+0!=0 && g!="") ? sprintf("%.2f", g/p) : "n/a";
    printf "%-26s ghostcomp %-8s ms  sway %-8s ms  ratio %s\n", n, g, (p==""?"-":p), r }'
done
