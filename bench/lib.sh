# Helpers for the benchmark scripts: packages, processes started and cleaned up, CPU and
# memory sampling, the measuring clients, and starting weston and sway. Source it.
# Figures go to stdout as "name: value" lines; diagnostics to stderr.
set -u
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_OUT="${BENCH_OUT:-$BENCH_ROOT/target/bench}"
mkdir -p "$BENCH_OUT"
TICKS=$(getconf CLK_TCK)

note() { echo "[$(date +%T)] $*" >&2; }

# need PACKAGE... : installs the Debian packages that are missing.
need() {
  local missing=() p sudo=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || sudo=sudo
  note "installing ${missing[*]}"
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}
version_of() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "n/a"; }

# Processes and folders this script made, stopped and removed on exit.
STARTED=()
SCRATCH=()
track() { STARTED+=("$1"); }
stop_pid() {
  local pid=$1 i
  kill "$pid" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local left=()
  for i in "${STARTED[@]}"; do [ "$i" = "$pid" ] || left+=("$i"); done
  STARTED=("${left[@]}")
}
children() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v '^$' || true; }
stop_tree() { local c; for c in $(children "$1"); do kill "$c" 2>/dev/null; done; stop_pid "$1"; }
clean_up() {
  local i
  for (( i=${#STARTED[@]}-1; i>=0; i-- )); do kill "${STARTED[$i]}" 2>/dev/null || true; done
  sleep 0.3
  for (( i=${#STARTED[@]}-1; i>=0; i-- )); do
    kill -9 "${STARTED[$i]}" 2>/dev/null || true; wait "${STARTED[$i]}" 2>/dev/null || true
  done
  STARTED=()
  for i in "${SCRATCH[@]}"; do rm -rf "$i"; done
  SCRATCH=()
}
trap clean_up EXIT
trap 'exit 130' INT TERM
scratch_dir() { local d; d=$(mktemp -d "/tmp/bench-$1.XXXXXX"); SCRATCH+=("$d"); echo "$d"; }

# sway refuses to run as root, so the compositors under test run as an unprivileged user
# when this runs as root (clients stay root, which may use any socket).
BENCH_USER=${BENCH_USER:-ghostbench}
if [ "$(id -u)" = 0 ]; then
  id "$BENCH_USER" >/dev/null 2>&1 || useradd -r -m -d "/var/lib/$BENCH_USER" -s /usr/sbin/nologin "$BENCH_USER"
  AS_USER=(env HOME="/var/lib/$BENCH_USER" setpriv --reuid="$BENCH_USER" --regid="$BENCH_USER" --init-groups)
else
  AS_USER=(env)
fi
# fresh_runtime_dir : a new private XDG_RUNTIME_DIR (owned by the bench user), exported.
fresh_runtime_dir() {
  XDG_RUNTIME_DIR=$(scratch_dir xdg)
  chmod 0700 "$XDG_RUNTIME_DIR"
  [ "$(id -u)" = 0 ] && chown "$BENCH_USER:" "$XDG_RUNTIME_DIR"
  export XDG_RUNTIME_DIR
}

now_ns() { date +%s%N; }
ms_since() { awk -v d=$(( $(now_ns) - $1 )) 'BEGIN { printf "%.2f", d / 1e6 }'; }
wait_for_path() { # PATH SECONDS
  local end=$(( $(now_ns) + ${2:-10} * 1000000000 ))
  until [ -e "$1" ]; do [ "$(now_ns)" -gt "$end" ] && return 1; sleep 0.005; done
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
median() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "n/a"; exit }
    if (NR % 2) printf "%.2f\n", v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# cpu_rates SECONDS "PIDS" ["PIDS"...] : CPU seconds per second of each group of
# processes over one shared window, on one line.
cpu_rates() {
  local span=$1 group p sum w0 w1 i
  shift
  local before=() after=()
  for group in "$@"; do sum=0; for p in $group; do sum=$(( sum + $(cpu_ticks "$p") )); done; before+=("$sum"); done
  w0=$(now_ns); sleep "$span"; w1=$(now_ns)
  for group in "$@"; do sum=0; for p in $group; do sum=$(( sum + $(cpu_ticks "$p") )); done; after+=("$sum"); done
  for i in "${!before[@]}"; do
    awk -v t=$(( after[i] - before[i] )) -v hz="$TICKS" -v w=$(( w1 - w0 )) 'BEGIN { printf "%.3f ", t / hz / (w / 1e9) }'
  done
  echo
}
# time_ms COMMAND... : "milliseconds status" of one run, output discarded.
time_ms() {
  local t0 status
  t0=$(now_ns); "$@" >/dev/null 2>&1; status=$?
  echo "$(ms_since "$t0") $status"
}
machine() {
  echo "machine_cpu: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo) x$(nproc)"
  echo "machine_memory_gib: $(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)"
  echo "machine_kernel: $(uname -r)"
}

# build_clients : the start-up probe and the animating client, into $BENCH_OUT/clients;
# sets WL_READY and ANIMATE.
build_clients() {
  local out=$BENCH_OUT/clients xml=/usr/share/wayland-protocols/stable/xdg-shell/xdg-shell.xml
  WL_READY=$out/wl_ready ANIMATE=$out/animate
  if [ -x "$ANIMATE" ] && [ "$ANIMATE" -nt "$BENCH_DIR/clients/animate.c" ] &&
     [ -x "$WL_READY" ] && [ "$WL_READY" -nt "$BENCH_DIR/clients/wl_ready.c" ]; then return 0; fi
  need gcc libc6-dev pkg-config libwayland-dev wayland-protocols
  mkdir -p "$out"
  gcc -O2 -Wall -o "$WL_READY" "$BENCH_DIR/clients/wl_ready.c" || return 1
  wayland-scanner client-header "$xml" "$out/xdg-shell-client-protocol.h" &&
    wayland-scanner private-code "$xml" "$out/xdg-shell-protocol.c" &&
    gcc -O2 -Wall -I"$out" -o "$ANIMATE" "$BENCH_DIR/clients/animate.c" "$out/xdg-shell-protocol.c" \
      $(pkg-config --cflags --libs wayland-client)
}

# await_ready LAUNCH_NS : waits for the compositor's socket and first round trip (with
# WAYLAND_DISPLAY as set, or "auto"); sets WAYLAND_DISPLAY, SOCKET_MS and READY_MS.
await_ready() {
  local out
  out=$("$WL_READY" "$1" 15000) || return 1
  SOCKET_MS=$(awk '/^socket_ms:/ { print $2 }' <<<"$out")
  READY_MS=$(awk '/^ready_ms:/ { print $2 }' <<<"$out")
  WAYLAND_DISPLAY=$(awk '/^socket:/ { print $2 }' <<<"$out")
  export WAYLAND_DISPLAY
}

# measure_animation PREFIX COMPOSITOR_PID N WIDTH HEIGHT : N animating windows for DUR
# seconds; prints the compositor's CPU and RSS, the clients' CPU and their frame rates.
measure_animation() {
  local prefix=$1 comp=$2 n=$3 w=$4 h=$5 span=${DUR:-10} i pids=() work
  work=$(scratch_dir anim)
  for i in $(seq "$n"); do
    "$ANIMATE" -w "$w" -h "$h" -d "$(( span + 3 ))" >"$work/$i.out" 2>&1 &
    pids+=("$!"); track "$!"
  done
  sleep 1.5
  read -r comp_cpu clients_cpu < <(cpu_rates "$span" "$comp" "${pids[*]}")
  echo "${prefix}_rss_mib: $(mib "$(rss_kb "$comp")")"
  for i in "${pids[@]}"; do wait "$i" 2>/dev/null; stop_pid "$i"; done
  echo "${prefix}_cpu_per_s: $comp_cpu"
  echo "${prefix}_clients_cpu_per_s: $clients_cpu"
  cat "$work"/*.out | awk -v p="$prefix" -v n="$n" '/^fps:/ { sum += $2; got++ }
    END { printf "%s_fps_total: %.1f\n%s_fps_each: %.1f\n%s_clients_reporting: %d/%d\n", p, sum, p, got ? sum / got : 0, p, got, n }'
}

# measure_startups PREFIX START_COMMAND... : starts the compositor RUNS times (the
# command sets COMP_PID, SOCKET_MS and READY_MS) and prints the median times until its
# socket existed and until a client's first round trip was answered.
measure_startups() {
  local prefix=$1 socket=() ready=()
  shift
  for _ in $(seq "${RUNS:-10}"); do
    "$@" || return 1
    socket+=("$SOCKET_MS"); ready+=("$READY_MS")
    stop_tree "$COMP_PID"
  done
  echo "${prefix}_startup_socket_ms_median: $(printf '%s\n' "${socket[@]}" | median)"
  echo "${prefix}_startup_ready_ms_median: $(printf '%s\n' "${ready[@]}" | median)"
  echo "${prefix}_startup_ready_ms_all: ${ready[*]}"
}

# measure_desktop PREFIX COMPOSITOR_PID : idle memory and CPU, then one, ten and one
# large animating window, on a compositor that has just started.
measure_desktop() {
  local prefix=$1 comp=$2
  sleep 2
  echo "${prefix}_idle_rss_mib: $(mib "$(rss_kb "$comp")")"
  echo "${prefix}_idle_pss_mib: $(mib "$(pss_kb "$comp")")"
  echo "${prefix}_idle_cpu_per_s: $(cpu_rates "${DUR:-10}" "$comp")"
  measure_animation "${prefix}_anim1_256" "$comp" 1 256 256
  measure_animation "${prefix}_anim10_256" "$comp" 10 256 256
  measure_animation "${prefix}_anim1_1280x720" "$comp" 1 1280 720
}

# start_weston WIDTH HEIGHT [ARG...] : weston 10 headless with pixman; sets COMP_PID.
start_weston() {
  local w=$1 h=$2
  shift 2
  fresh_runtime_dir
  export WAYLAND_DISPLAY=wl-bench
  local t0; t0=$(now_ns)
  "${AS_USER[@]}" weston --backend=headless-backend.so --use-pixman --width="$w" --height="$h" \
    --socket="$WAYLAND_DISPLAY" --idle-time=0 --log="$XDG_RUNTIME_DIR/weston.log" "$@" &
  COMP_PID=$!; track "$COMP_PID"
  await_ready "$t0" || { note "weston did not start"; cat "$XDG_RUNTIME_DIR/weston.log" >&2; return 1; }
}

# start_ghostcomp WIDTH HEIGHT : ghostcomp headless (pixman) from $GHOSTCOMP; sets
# COMP_PID, WAYLAND_DISPLAY, SOCKET_MS and READY_MS.
start_ghostcomp() {
  fresh_runtime_dir
  export WAYLAND_DISPLAY=wl-bench
  local t0; t0=$(now_ns)
  RUST_LOG=warn "$GHOSTCOMP" --backend headless --socket "$WAYLAND_DISPLAY" --output "$1x$2@60" \
    2>"$XDG_RUNTIME_DIR/ghostcomp.log" &
  COMP_PID=$!; track "$COMP_PID"
  await_ready "$t0" || { note "ghostcomp not ready"; cat "$XDG_RUNTIME_DIR/ghostcomp.log" >&2; return 1; }
}

# start_sway CONFIG [LOG] : sway 1.7 headless with pixman; sets COMP_PID and SWAYSOCK.
start_sway() {
  local config=$1 log=${2:-/dev/null}
  fresh_runtime_dir
  unset WAYLAND_DISPLAY DISPLAY SWAYSOCK
  local t0; t0=$(now_ns)
  WLR_BACKENDS=headless WLR_RENDERER=pixman WLR_LIBINPUT_NO_DEVICES=1 WLR_HEADLESS_OUTPUTS=1 \
    "${AS_USER[@]}" sway -c "$config" >"$log" 2>&1 &
  COMP_PID=$!; track "$COMP_PID"
  WAYLAND_DISPLAY=auto await_ready "$t0" || { note "sway did not start"; return 1; }
  export SWAYSOCK="$XDG_RUNTIME_DIR/sway-ipc.$(id -u "$BENCH_USER" 2>/dev/null || id -u).$COMP_PID.sock"
  wait_for_path "$SWAYSOCK" 5
}
# sway_has_window APP_ID SECONDS : until sway's tree holds a window of that app.
sway_has_window() {
  local end=$(( $(now_ns) + ${2:-10} * 1000000000 ))
  until swaymsg -t get_tree 2>/dev/null | jq -e --arg a "$1" '[.. | objects | select(.app_id? == $a)] | length > 0' >/dev/null; do
    [ "$(now_ns)" -gt "$end" ] && return 1
    sleep 0.005
  done
}

# Chromium as a screen-share consumer: tests/portal/share.html shares the screen through
# getDisplayMedia as soon as it loads and counts the frames whose pixels changed along
# the screen's middle row (where the animating window is, in every layout). Needs the
# session's bus, PipeWire, portal and WAYLAND_DISPLAY. chromium_share_start DIR sets
# CHROME_PID (its own session: chromium_pids lists all its processes).
chromium_share_start() {
  XDG_SESSION_TYPE=wayland setsid chromium --ozone-platform=wayland --no-sandbox \
    --no-first-run --no-default-browser-check --disable-gpu --use-fake-ui-for-media-stream \
    "--auto-select-desktop-capture-source=Entire screen" --enable-features=WebRTCPipeWireCapturer \
    --user-data-dir="$1/chrome" \
    "file://$BENCH_ROOT/tests/portal/share.html?auto&watch=0,540,1920,2" >"$1/chromium.log" 2>&1 &
  CHROME_PID=$!; track "$CHROME_PID"
}
chromium_pids() { pgrep -s "$CHROME_PID" | tr '\n' ' '; }
# share_field KEY COMMAND... : a value of the page's report, from the window titles in
# the JSON COMMAND prints (ghostcomp msg windows, swaymsg -t get_tree); empty if none.
share_field() {
  local key=$1; shift
  "$@" 2>/dev/null | python3 -c '
import json, sys
def walk(v):
    if isinstance(v, dict):
        for x in v.values(): yield from walk(x)
    elif isinstance(v, list):
        for x in v: yield from walk(x)
    elif isinstance(v, str) and v.startswith("share: {"):
        yield json.loads(v[len("share: "):v.rindex("}") + 1])
try:
    for report in walk(json.load(sys.stdin)):
        if sys.argv[1] in report: print(report[sys.argv[1]]); break
except Exception:
    pass' "$key"
}
# share_changes COMMAND... : the page's count of changed frames.
share_changes() { share_field changes "$@"; }
# share_await LIST_COMMAND... : waits (30 s at most) until the page counts frames.
share_await() {
  local end=$(( $(now_ns) + 30000000000 ))
  until [ -n "$(share_changes "$@")" ]; do [ "$(now_ns)" -gt "$end" ] && return 1; sleep 0.2; done
  sleep 1.2
}
# Firefox ESR as the same consumer, on the same page, which shares at its first key
# press (the user gesture Firefox asks for). firefox_share_start DIR sets FIREFOX_PID.
firefox_share_start() {
  mkdir -p "$1/firefox"
  printf 'user_pref("%s", %s);\n' media.navigator.permission.disabled true \
    media.webrtc.capture.allow-pipewire true browser.shell.checkDefaultBrowser false \
    browser.aboutwelcome.enabled false datareporting.policy.dataSubmissionEnabled false \
    toolkit.telemetry.reportingpolicy.firstRun false >"$1/firefox/user.js"
  # Firefox will not run in a runtime directory another user owns (sway's, here).
  local display=$WAYLAND_DISPLAY runtime
  [ "${display#/}" = "$display" ] && display=$XDG_RUNTIME_DIR/$display
  runtime=$(mktemp -d "$1/firefox-runtime.XXXXXX")
  XDG_RUNTIME_DIR=$runtime WAYLAND_DISPLAY=$display XDG_SESSION_TYPE=wayland MOZ_ENABLE_WAYLAND=1 \
    setsid firefox-esr --no-remote --new-instance --profile "$1/firefox" \
    "file://$BENCH_ROOT/tests/portal/share.html?watch=0,540,1920,2" >"$1/firefox.log" 2>&1 &
  FIREFOX_PID=$!; track "$FIREFOX_PID"
}
firefox_pids() { pgrep -s "$FIREFOX_PID" | tr '\n' ' '; }
# OBS Studio as a consumer: a 1080p60 canvas holding its "Screen Capture (PipeWire)"
# source, recording (x264, Matroska) from the start: the settings of tests/obs/, which
# tests/src/obs.rs uses too.
# obs_share_start DIR sets OBS_PID; obs_share_stop ends it and waits for its muxer;
# obs_changes DIR SECONDS prints how many times a second the screen's middle row
# changed over the recording's last SECONDS.
obs_share_start() {
  local obs=$1/obs-config/obs-studio display=$WAYLAND_DISPLAY runtime
  mkdir -p "$obs/basic/profiles/Share" "$obs/basic/scenes" "$1/obs-recordings"
  cp "$BENCH_ROOT/tests/obs/global.ini" "$obs/global.ini"
  sed "s|@RECORDINGS@|$1/obs-recordings|" "$BENCH_ROOT/tests/obs/basic.ini" >"$obs/basic/profiles/Share/basic.ini"
  cp "$BENCH_ROOT/tests/obs/scene.json" "$obs/basic/scenes/Share.json"
  [ "${display#/}" = "$display" ] && display=$XDG_RUNTIME_DIR/$display
  runtime=$(mktemp -d "$1/obs-runtime.XXXXXX")
  XDG_RUNTIME_DIR=$runtime WAYLAND_DISPLAY=$display XDG_CONFIG_HOME=$1/obs-config \
    XDG_SESSION_TYPE=wayland QT_QPA_PLATFORM=wayland LIBGL_ALWAYS_SOFTWARE=1 \
    setsid obs --startrecording --disable-shutdown-check --multi >"$1/obs.log" 2>&1 &
  OBS_PID=$!; track "$OBS_PID"
}
obs_pids() { pgrep -s "$OBS_PID" | tr '\n' ' '; }
# obs_share_await DIR : waits (30 s at most) until OBS's recording holds frames.
obs_share_await() {
  local end=$(( $(now_ns) + 30000000000 ))
  until [ "$(find "$1/obs-recordings" -name '*.mkv' -size +100k 2>/dev/null | wc -l)" -gt 0 ]; do
    [ "$(now_ns)" -gt "$end" ] && return 1; sleep 0.2
  done
}
obs_share_stop() {
  kill -9 "$OBS_PID" 2>/dev/null; wait "$OBS_PID" 2>/dev/null
  local end=$(( $(now_ns) + 15000000000 ))
  while pgrep -s "$OBS_PID" >/dev/null; do [ "$(now_ns)" -gt "$end" ] && break; sleep 0.1; done
}
obs_changes() {
  local file frames
  file=$(find "$1/obs-recordings" -name '*.mkv' | head -1)
  frames=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$file")
  ffmpeg -v error -ss "$(awk -v f="$frames" -v s="$2" 'BEGIN { printf "%.3f", f / 60 - s - 0.5 }')" -t "$2" \
    -i "$file" -map 0:v -vf crop=1920:2:0:540 -f framemd5 - 2>/dev/null |
    awk -F', *' -v s="$2" '!/^#/ { if (NR > 1 && $6 != last) n++; last = $6 } END { printf "%.1f\n", n / s }'
}
# The share to Chromium, Firefox ESR and OBS in turn, each measured for SECS seconds:
# new frames a second (the page's count; OBS's recording, counted afterwards) and CPU a
# second of each SHARE_PROCS entry ("label:pid") and of the consumer. SHARE_LIST is the
# command listing the windows as JSON, SHARE_KEY the one pressing a key in the focused
# window. Prints cast_NAME_fps and cast_NAME_LABEL_cpu_per_s lines.
consumer_rates() {
  local entry pids=() labels=() v i
  for entry in "${SHARE_PROCS[@]}"; do labels+=("${entry%%:*}"); pids+=("${entry#*:}"); done
  read -r -a v < <(cpu_rates "$SECS" "${pids[@]}" "$2")
  for i in "${!labels[@]}"; do echo "cast_$1_${labels[$i]}_cpu_per_s: ${v[$i]}"; done
  echo "cast_$1_consumer_cpu_per_s: ${v[${#labels[@]}]}"
}
# share_tick : returns just after the page updated its count (once a second), printing
# the new count: counts read at its ticks span whole seconds.
share_tick() {
  local before now
  before=$(share_changes "${SHARE_LIST[@]}")
  for _ in $(seq 150); do
    now=$(share_changes "${SHARE_LIST[@]}")
    [ "$now" != "$before" ] && break
    sleep 0.01
  done
  echo "$now"
}
page_rates() {
  local c0 c1 t0 t1 cpu
  c0=$(share_tick); t0=$(now_ns)
  cpu=$(consumer_rates "$1" "$2")
  c1=$(share_tick); t1=$(now_ns)
  echo "cast_$1_fps: $(per_second "$c0" "$c1" "$t0" "$t1")"
  echo "$cpu"
}
share_to_consumers() {
  local cpu
  if command -v chromium >/dev/null; then
    chromium_share_start "$WORK"
    if share_await "${SHARE_LIST[@]}"; then
      page_rates chromium "$(chromium_pids)"
    else
      note "Chromium got no frames"; tail -20 "$WORK/chromium.log" >&2
    fi
    stop_tree "$CHROME_PID"
  fi
  if command -v firefox-esr >/dev/null; then
    firefox_share_start "$WORK"
    if share_idle_await "${SHARE_LIST[@]}" && "${SHARE_KEY[@]}" >/dev/null 2>&1 &&
      share_await "${SHARE_LIST[@]}"; then
      animate_above
      page_rates firefox "$(firefox_pids)"
    else
      note "Firefox got no frames"; tail -20 "$WORK/firefox.log" >&2
    fi
    stop_tree "$FIREFOX_PID"
  fi
  if command -v obs >/dev/null; then
    obs_share_start "$WORK"
    if obs_share_await "$WORK"; then
      animate_above
      sleep 1
      cpu=$(consumer_rates obs "$(obs_pids)")
      obs_share_stop
      echo "cast_obs_fps: $(obs_changes "$WORK" "$SECS")"
      echo "$cpu"
    else
      note "OBS recorded nothing"; tail -20 "$WORK/obs.log" >&2
    fi
    obs_share_stop
  fi
}
# animate_above : the animating window ($AP) opened again, so that it is above a window
# that came after it (a floating layout stacks new windows on top).
animate_above() {
  stop_tree "$AP"
  "$ANIMATE" -w 1280 -h 720 -d 60 >/dev/null 2>&1 & AP=$!; track "$AP"
  sleep 1
}
# share_idle_await LIST_COMMAND... : waits (30 s at most) until the page is loaded and
# waits for its gesture.
share_idle_await() {
  local end=$(( $(now_ns) + 30000000000 ))
  until [ "$(share_field state "$@")" = idle ]; do [ "$(now_ns)" -gt "$end" ] && return 1; sleep 0.2; done
}
# per_second BEFORE AFTER T0_NS T1_NS : the rate of a count the page updates once a second.
per_second() { awk -v a="$1" -v b="$2" -v w=$(( $4 - $3 )) 'BEGIN { s = int(w / 1e9 + 0.5); printf "%.1f\n", s ? (b - a) / s : 0 }'; }
