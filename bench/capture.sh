#!/usr/bin/env bash
# Screenshots and screen shares: ghostcomp measured as bench/peers/ measures sway
# (grim through wlr-screencopy at 1080p and 4K, PNG and PPM; a portal screen share at
# 1920x1080 while a 1280x720 window animates: frames a second the consumer
# receives, CPU a second of each process; the consumers are GStreamer, Chromium, Firefox and OBS), then the peers' own scripts run in the same
# session, and the ratios are printed (below 1 is better for time and CPU, above 1 for
# fps), and the compositor's own part of a screenshot: a recorder's screencopy into a
# buffer it reuses (`ghost-copy-loop`), request to ready and copy to ready.
# Usage: bench/capture.sh   (env: SHOTS=10, SECS=5, PEERS_TOO=1)
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT="${OUT:-$ROOT/target/bench}"
mkdir -p "$OUT"

export COPY_LOOP="$ROOT/target/release/ghost-copy-loop"
if [ "${1:-}" != --inner ]; then
  (cd "$ROOT" && cargo build --release -q -p ghost-compositor -p ghost-tests --bin ghostcomp --bin ghost-copy-loop) || exit 1
  if [ "${PEERS_TOO:-1}" = 1 ]; then
    SECS="${SECS:-5}" bash "$HERE/peers/share-wlr.sh" >"$OUT/peer-cast.txt" 2>"$OUT/peer-cast.err" || tail "$OUT/peer-cast.err"
    SHOTS="${SHOTS:-10}" bash "$HERE/peers/sway.sh" >"$OUT/peer-sway.txt" 2>"$OUT/peer-sway.err" || tail "$OUT/peer-sway.err"
  fi
  dbus-run-session -- bash "$0" --inner >"$OUT/ghostcomp-capture.txt" 2>"$OUT/ghostcomp-capture.err" \
    || { tail "$OUT/ghostcomp-capture.err"; exit 1; }
  get() { awk -v k="$2:" '$1==k{print $2}' "$OUT/$1.txt" 2>/dev/null | head -1; }
  row() { # name ours peer_file peer_key lower_is_better
    local g p; g=$(get ghostcomp-capture "$2"); p=$(get "$3" "$4")
    awk -v n="$1" -v g="$g" -v p="$p" -v low="$5" 'BEGIN{
      r = (p!="" && p+0!=0 && g!="") ? sprintf("%.2f", g/p) : "n/a";
      printf "%-40s ghostcomp %-9s sway %-9s ratio %s\n", n, (g==""?"-":g), (p==""?"-":p), r }'
  }
  echo "# screenshots and screen shares, ghostcomp vs sway 1.7 + grim / xdg-desktop-portal-wlr, $(date -u +%F), $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo) x$(nproc)"
  row "grim PNG 1080p (ms)"           grim_png_1920x1080_ms_median peer-sway sway_grim_png_1920x1080_ms_median 1
  row "grim PPM 1080p (ms)"           grim_ppm_1920x1080_ms_median peer-sway sway_grim_ppm_1920x1080_ms_median 1
  row "grim PNG 4K (ms)"              grim_png_3840x2160_ms_median peer-sway sway_grim_png_3840x2160_ms_median 1
  row "grim PPM 4K (ms)"              grim_ppm_3840x2160_ms_median peer-sway sway_grim_ppm_3840x2160_ms_median 1
  row "screencopy, reused buffer, 1080p: request to ready (ms)" copy_request_1920x1080_ms peer-sway sway_copy_request_1920x1080_ms 1
  row "screencopy, reused buffer, 1080p: copy to ready (ms)" copy_copy_1920x1080_ms peer-sway sway_copy_copy_1920x1080_ms 1
  row "screencopy, reused buffer, 4K: request to ready (ms)" copy_request_3840x2160_ms peer-sway sway_copy_request_3840x2160_ms 1
  row "screencopy, reused buffer, 4K: copy to ready (ms)" copy_copy_3840x2160_ms peer-sway sway_copy_copy_3840x2160_ms 1
  row "share 1080p, animated: fps"    cast_anim_fps peer-cast cast_anim_screencast_fps 0
  row "share: compositor CPU/s"       cast_anim_compositor_cpu_per_s peer-cast cast_anim_sway_cpu_per_s 1
  row "share: portal backend CPU/s"   cast_anim_portal_cpu_per_s peer-cast cast_anim_xdpw_cpu_per_s 1
  row "share: pipewire CPU/s"         cast_anim_pipewire_cpu_per_s peer-cast cast_anim_pipewire_cpu_per_s 1
  row "Chromium share: new frames/s"  cast_chromium_fps peer-cast cast_chromium_fps 0
  row "Chromium share: compositor CPU/s" cast_chromium_compositor_cpu_per_s peer-cast cast_chromium_sway_cpu_per_s 1
  row "Chromium share: pipewire CPU/s" cast_chromium_pipewire_cpu_per_s peer-cast cast_chromium_pipewire_cpu_per_s 1
  row "Chromium share: Chromium CPU/s" cast_chromium_consumer_cpu_per_s peer-cast cast_chromium_consumer_cpu_per_s 1
  row "Firefox share: new frames/s"  cast_firefox_fps peer-cast cast_firefox_fps 0
  row "Firefox share: compositor CPU/s" cast_firefox_compositor_cpu_per_s peer-cast cast_firefox_sway_cpu_per_s 1
  row "Firefox share: pipewire CPU/s" cast_firefox_pipewire_cpu_per_s peer-cast cast_firefox_pipewire_cpu_per_s 1
  row "Firefox share: Firefox CPU/s" cast_firefox_consumer_cpu_per_s peer-cast cast_firefox_consumer_cpu_per_s 1
  row "OBS recording: new frames/s"  cast_obs_fps peer-cast cast_obs_fps 0
  row "OBS share: compositor CPU/s" cast_obs_compositor_cpu_per_s peer-cast cast_obs_sway_cpu_per_s 1
  row "OBS share: pipewire CPU/s" cast_obs_pipewire_cpu_per_s peer-cast cast_obs_pipewire_cpu_per_s 1
  row "OBS share: OBS CPU/s" cast_obs_consumer_cpu_per_s peer-cast cast_obs_consumer_cpu_per_s 1
  exit 0
fi

source "$HERE/lib.sh"
build_clients || exit 1
GHOSTCOMP="$ROOT/target/release/ghostcomp"
SHOTS=${SHOTS:-10}; SECS=${SECS:-5}
WORK=$(scratch_dir capture); cd "$WORK" || exit 1
machine
fresh_runtime_dir
export XDG_CONFIG_HOME="$WORK/config"; mkdir -p "$XDG_CONFIG_HOME/ghostcomp"
printf '[capture]\nunattended = "grant"\n' >"$XDG_CONFIG_HOME/ghostcomp/config.toml"
export WAYLAND_DISPLAY=wl-capture GHOSTCOMP_SOCKET="$XDG_RUNTIME_DIR/ghostcomp.wl-capture.sock"
RUST_LOG=warn "$GHOSTCOMP" --backend headless --socket "$WAYLAND_DISPLAY" --output 1920x1080@60 \
  2>"$WORK/ghostcomp.log" &
GPID=$!; track "$GPID"
wait_for_path "$GHOSTCOMP_SOCKET" 10 || { cat "$WORK/ghostcomp.log" >&2; exit 1; }

# 1. grim at 1080p and 4K
for res in 1920x1080 3840x2160; do
  wlr-randr --output HEADLESS-1 --custom-mode "$res" >/dev/null 2>&1 || "$GHOSTCOMP" msg outputs >/dev/null
  sleep 0.3
  for fmt in png ppm; do
    ts=()
    for i in $(seq "$SHOTS"); do
      read -r ms rc < <(time_ms grim -t "$fmt" "$WORK/shot.$fmt")
      [ "$rc" = 0 ] && ts+=("$ms")
    done
    echo "grim_${fmt}_${res}_ms_median: $(printf '%s\n' "${ts[@]}" | median)"
  done
  "$COPY_LOOP" 50 | sed -n "s/^\(request\|copy\)_to_ready_ms:/copy_\1_${res}_ms:/p"
done
wlr-randr --output HEADLESS-1 --custom-mode 1920x1080 >/dev/null 2>&1; sleep 0.3

# 2. a portal share while a client animates
pipewire >"$WORK/pipewire.log" 2>&1 & PW=$!; track $PW
wait_for_path "$XDG_RUNTIME_DIR/pipewire-0" 10 || exit 1
wireplumber >"$WORK/wireplumber.log" 2>&1 & WP=$!; track $WP
"$GHOSTCOMP" portal >"$WORK/portal.log" 2>&1 & PO=$!; track $PO
sleep 0.5
mkdir -p "$WORK/portals"; cp "$ROOT/data/portal/ghost.portal" "$WORK/portals/"
XDG_CURRENT_DESKTOP=ghost XDG_DESKTOP_PORTAL_DIR="$WORK/portals" \
  /usr/libexec/xdg-desktop-portal -r >"$WORK/xdp.log" 2>&1 & XDP=$!; track $XDP
sleep 1.5
"$ANIMATE" -w 1280 -h 720 -d $((SECS + 75)) >"$WORK/anim.out" 2>&1 & AP=$!; track $AP
sleep 1
/usr/bin/python3 "$ROOT/tests/portal/cast_consumer.py" --portal --seconds "$SECS" --warmup 1 \
  >"$WORK/cast.json" 2>"$WORK/cast.err" & CP=$!
sleep 2
read -r -a v < <(cpu_rates "$(awk -v s="$SECS" 'BEGIN{print s-1.5}')" "$GPID" "$PO" "$PW" "$WP" "$XDP" "$CP")
wait $CP
echo "cast_anim_fps: $(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fps"])' "$WORK/cast.json")"
echo "cast_anim_compositor_cpu_per_s: ${v[0]}"
echo "cast_anim_portal_cpu_per_s: ${v[1]}"
echo "cast_anim_pipewire_cpu_per_s: ${v[2]}"
echo "cast_anim_wireplumber_cpu_per_s: ${v[3]}"
echo "cast_anim_xdg_desktop_portal_cpu_per_s: ${v[4]}"
echo "cast_anim_consumer_cpu_per_s: ${v[5]}"

# 3. to 5. the same share to Chromium, Firefox ESR (tests/portal/share.html through
# getDisplayMedia; Firefox asks at a key press) and OBS Studio (a recording).
SHARE_PROCS=("compositor:$GPID" "pipewire:$PW")
SHARE_LIST=("$GHOSTCOMP" msg windows)
SHARE_KEY=("$GHOSTCOMP" msg input type x)
share_to_consumers
