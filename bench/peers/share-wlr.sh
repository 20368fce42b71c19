#!/usr/bin/env bash
# A screen share on sway 1.7 headless through xdg-desktop-portal-wlr (built by
# xdpw-shm.sh, chooser off), PipeWire, WirePlumber and xdg-desktop-portal, in a private
# D-Bus session, while a 1280x720 window animates; the consumer is the project's own
# (tests/portal/cast_consumer.py, GStreamer pipewiresrc through the ScreenCast portal),
# then Chromium, Firefox ESR (tests/portal/share.html through getDisplayMedia) and OBS.
# Prints the frames a second the consumer got and each process's CPU. Env: SECS (5).
source "$(dirname "$0")/../lib.sh"
if [ "${1:-}" != --inner ]; then
  need sway chromium firefox-esr obs-studio obs-plugins qtwayland5 ffmpeg wtype pipewire pipewire-bin wireplumber xdg-desktop-portal xdg-desktop-portal-wlr dbus dbus-bin \
    gstreamer1.0-pipewire gstreamer1.0-plugins-base python3-dbus python3-gi gir1.2-gstreamer-1.0 procps
  build_clients || exit 1
  XDPW_BIN=$(bash "$BENCH_DIR/peers/xdpw-shm.sh" | awk '/^xdpw_shm_bin:/ { print $2 }')
  [ -x "$XDPW_BIN" ] || { note "xdg-desktop-portal-wlr did not build"; exit 1; }
  echo "pipewire_version: $(version_of pipewire)"
  echo "xdg_desktop_portal_version: $(version_of xdg-desktop-portal)"
  echo "xdg_desktop_portal_wlr_version: $(version_of xdg-desktop-portal-wlr)"
  machine
  trap - EXIT
  XDPW_BIN=$XDPW_BIN exec dbus-run-session -- bash "$0" --inner
fi

build_clients || exit 1
SECS=${SECS:-5}
WORK=$(scratch_dir share); chmod 777 "$WORK"; cd "$WORK" || exit 1
# xdg-desktop-portal 1.16 chooses wlr.portal for this desktop name.
export XDG_CURRENT_DESKTOP=sway
bus_has() { dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner "string:$1" 2>/dev/null | grep -q 'boolean true'; }
await_bus_name() { local end=$(( $(now_ns) + 15000000000 )); until bus_has "$1"; do [ "$(now_ns)" -gt "$end" ] && return 1; sleep 0.01; done; }

printf 'output HEADLESS-1 resolution 1920x1080 position 0 0\nxwayland disable\n' >sway.conf; chmod 644 sway.conf
start_sway "$WORK/sway.conf" "$WORK/sway.log" || exit 1
pipewire >pipewire.log 2>&1 & PW=$!; track $PW
wait_for_path "$XDG_RUNTIME_DIR/pipewire-0" 10 || { tail pipewire.log >&2; exit 1; }
wireplumber >wireplumber.log 2>&1 & WP=$!; track $WP
sleep 1
printf '[screencast]\noutput_name=HEADLESS-1\nmax_fps=60\nchooser_type=none\n' >xdpw.conf
"$XDPW_BIN" -c "$WORK/xdpw.conf" >xdpw.log 2>&1 & XDPW=$!; track $XDPW
await_bus_name org.freedesktop.impl.portal.desktop.wlr || { tail -20 xdpw.log >&2; exit 1; }
/usr/libexec/xdg-desktop-portal -r >xdp.log 2>&1 & XDP=$!; track $XDP
await_bus_name org.freedesktop.portal.Desktop || { tail -20 xdp.log >&2; exit 1; }

"$ANIMATE" -w 1280 -h 720 -d $(( SECS + 75 )) >anim.out 2>&1 & AP=$!; track $AP
sleep 1
/usr/bin/python3 "$BENCH_ROOT/tests/portal/cast_consumer.py" --portal --seconds "$SECS" --warmup 1 \
  >cast.json 2>cast.err & CP=$!
sleep 2
read -r -a cpu < <(cpu_rates "$(awk -v s="$SECS" 'BEGIN { print s - 1.5 }')" "$COMP_PID" "$XDPW" "$PW" "$WP" "$XDP" "$CP")
wait $CP || { note "the consumer failed"; tail -5 cast.err >&2; tail -20 xdpw.log >&2; }
echo "cast_anim_screencast_fps: $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["fps"])' cast.json 2>/dev/null)"
echo "cast_anim_sway_cpu_per_s: ${cpu[0]}"
echo "cast_anim_xdpw_cpu_per_s: ${cpu[1]}"
echo "cast_anim_pipewire_cpu_per_s: ${cpu[2]}"
echo "cast_anim_wireplumber_cpu_per_s: ${cpu[3]}"
echo "cast_anim_xdg_desktop_portal_cpu_per_s: ${cpu[4]}"
echo "cast_anim_consumer_cpu_per_s: ${cpu[5]}"

# The same share to Chromium, Firefox ESR (tests/portal/share.html through
# getDisplayMedia; Firefox asks at a key press, typed through sway's virtual keyboard,
# which Firefox must know before the key comes) and OBS Studio (a recording).
SHARE_PROCS=("sway:$COMP_PID" "xdpw:$XDPW" "pipewire:$PW")
SHARE_LIST=(swaymsg -t get_tree)
SHARE_KEY=(wtype -s 1500 x -s 300)
share_to_consumers
