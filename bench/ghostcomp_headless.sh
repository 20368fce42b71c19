#!/usr/bin/env bash
# ghostcomp headless (pixman), measured exactly like the peer baselines in
# ../shared/peers (same wlready startup probe, same shmbench client, same CPU/RSS sampling).
# Usage: bench/ghostcomp_headless.sh   (env: RUNS=10 startup runs, DUR=10 s CPU window, SHOTS=20)
# Prints "name: value" lines.
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEERS="${PEERS:-$ROOT/../shared/peers}"
export PEERS_OUT="${PEERS_OUT:-$ROOT/target/peers}"
source "$PEERS/lib.sh"
ensure_pkgs procps
build_wlready || exit 1
build_shmbench || exit 1
(cd "$ROOT" && cargo build --release -q -p ghost-compositor) || exit 1
GHOSTCOMP="$ROOT/target/release/ghostcomp"

RUNS=${RUNS:-10}; DUR=${DUR:-10}; SHOTS=${SHOTS:-20}
WORK=$(mktemp -d /tmp/bench-ghostcomp.XXXXXX); TMPDIRS+=("$WORK"); cd "$WORK"
machine_info

# start_ghostcomp W H -> GPID, WAYLAND_DISPLAY, T_SOCK_MS, T_READY_MS
start_ghostcomp() {
  new_runtime_dir
  export WAYLAND_DISPLAY=wl-bench
  local t0; t0=$(now_ns)
  RUST_LOG=warn "$GHOSTCOMP" --backend headless --socket "$WAYLAND_DISPLAY" --output "$1x$2@60" \
    2>"$XDG_RUNTIME_DIR/ghostcomp.log" &
  GPID=$!; track_pid "$GPID"
  local out; out=$("$WLREADY" "$t0" 10000) || { log "ghostcomp not ready"; cat "$XDG_RUNTIME_DIR/ghostcomp.log" >&2; return 1; }
  T_SOCK_MS=$(awk '/^socket_ms/{print $2}' <<<"$out")
  T_READY_MS=$(awk '/^ready_ms/{print $2}' <<<"$out")
}

s1=(); s2=()
for r in $(seq "$RUNS"); do
  start_ghostcomp 1920 1080 || exit 1
  s1+=("$T_SOCK_MS"); s2+=("$T_READY_MS")
  kill_pid "$GPID"
done
echo "ghostcomp_startup_socket_ms_median: $(printf '%s\n' "${s1[@]}" | median)"
echo "ghostcomp_startup_ready_ms_median: $(printf '%s\n' "${s2[@]}" | median)"
echo "ghostcomp_startup_socket_ms_all: ${s1[*]}"

start_ghostcomp 1920 1080 || exit 1
sleep 2
echo "ghostcomp_idle_rss_mib: $(kb_to_mib "$(rss_kb "$GPID")")"
echo "ghostcomp_idle_pss_mib: $(kb_to_mib "$(pss_kb "$GPID")")"
echo "ghostcomp_idle_cpu_per_s: $(cpu_per_sec "$DUR" "$GPID")"
anim_measure ghostcomp_anim1_256 "$GPID" 1 256 256
anim_measure ghostcomp_anim10_256 "$GPID" 10 256 256
anim_measure ghostcomp_anim1_1280x720 "$GPID" 1 1280 720
kill_pid "$GPID"

for res in 1920x1080 3840x2160; do
  start_ghostcomp "${res%x*}" "${res#*x}" || exit 1
  sleep 1
  ts=(); ok=0
  for i in $(seq "$SHOTS"); do
    read -r ms rc < <(time_cmd_ms "$GHOSTCOMP" msg screenshot "$WORK/shot.png")
    ts+=("$ms"); [ "$rc" = 0 ] && ok=$((ok+1))
  done
  echo "ghostcomp_screenshot_png_${res}_ms_median: $(printf '%s\n' "${ts[@]}" | median)"
  echo "ghostcomp_screenshot_png_${res}_ok: $ok/$SHOTS"
  anim_measure ghostcomp_${res}_anim1_1280x720 "$GPID" 1 1280 720
  kill_pid "$GPID"
done
