#!/usr/bin/env bash
# A screen share that paints the pointer: ghostcomp (headless 1920x1080, pixman) with a
# 1280x720 window animating and the pointer going round a circle 60 times a second, a
# cast with `cursor = embedded` read by tests/portal/cast_consumer.py through PipeWire;
# prints the compositor's CPU a second over 10 s and the frames the cast sent. Give
# two or more ghostcomp binaries to compare them in one session, alternating twice.
# Usage: bench/share_pointer.sh [GHOSTCOMP...]   (default: the release build)
source "$(dirname "$0")/lib.sh"
if [ -z "${GHOST_BENCH_DBUS:-}" ]; then
  GHOST_BENCH_DBUS=1 exec dbus-run-session -- bash "$0" "$@"
fi
need procps pipewire wireplumber python3-gi gir1.2-gstreamer-1.0 gstreamer1.0-pipewire
build_clients || exit 1
bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
  (cd "$BENCH_ROOT" && cargo build --release -q -p ghost-compositor) || exit 1
  bins=("$BENCH_ROOT/target/release/ghostcomp")
fi
ask() { # SOCKET JSON : one IPC request, prints the reply's result
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(json.dumps(json.loads(s.makefile().readline())["result"]))
PY
}
machine
for round in 1 2; do
  for GHOSTCOMP in "${bins[@]}"; do
    start_ghostcomp 1920 1080 || exit 1
    ipc="$XDG_RUNTIME_DIR/ghostcomp.$WAYLAND_DISPLAY.sock"
    pipewire >/dev/null 2>&1 & track $!
    wait_for_path "$XDG_RUNTIME_DIR/pipewire-0" 10
    wireplumber >/dev/null 2>&1 & track $!
    sleep 1
    "$ANIMATE" -w 1280 -h 720 -d 30 >/dev/null 2>&1 & track $!
    sleep 0.5
    node=$(ask "$ipc" '{"request":"cast-start","cursor":"embedded"}' | jq -r .node_id)
    /usr/bin/python3 "$BENCH_ROOT/tests/portal/cast_consumer.py" --node "$node" --seconds 14 \
      >/dev/null 2>&1 & track $!
    /usr/bin/python3 - "$ipc" <<'PY' & track $!
import json, math, socket, sys, time
for i in range(60 * 14):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
    x, y = 960 + 400 * math.cos(i / 20), 540 + 300 * math.sin(i / 20)
    s.sendall(json.dumps({"request": "input", "action": "pointer-move", "x": x, "y": y}).encode() + b"\n")
    s.makefile().readline(); s.close()
    time.sleep(1 / 60)
PY
    sleep 2
    read -r cpu _ < <(cpu_rates 10 "$COMP_PID" "")
    frames=$(ask "$ipc" '{"request":"casts"}' | jq -r '.[0].frames')
    echo "$(basename "$GHOSTCOMP")_round${round}_compositor_cpu_per_s: $cpu"
    echo "$(basename "$GHOSTCOMP")_round${round}_frames_sent: $frames"
    clean_up
  done
done
