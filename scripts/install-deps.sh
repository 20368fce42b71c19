#!/usr/bin/env bash
# Installs the Debian 12 packages ghostcomp needs to build, and the real clients its tests
# drive. Idempotent: only missing packages are installed. Needs root (or sudo).
set -euo pipefail

BUILD=(
  build-essential pkg-config
  libwayland-dev libxkbcommon-dev xkb-data libpixman-1-dev libudev-dev libinput-dev
  libgbm-dev libseat-dev libegl-dev libgles-dev libdrm-dev
  libpipewire-0.3-dev libclang-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
  cmake ninja-build xz-utils curl ca-certificates python3-venv python3-dev
)
RUNTIME=(
  libegl1-mesa libgl1-mesa-dri
)
TEST_CLIENTS=(
  weston foot wayland-utils grim wlr-randr fonts-dejavu-core xvfb xauth
  pipewire pipewire-bin wireplumber xdg-desktop-portal dbus dbus-bin
  gstreamer1.0-pipewire gstreamer1.0-plugins-base python3-dbus python3-gi gir1.2-gstreamer-1.0
  chromium firefox-esr obs-studio obs-plugins qtwayland5 ffmpeg
  nginx-light libnginx-mod-rtmp srt-tools
  xwayland xterm x11-apps x11-utils xfonts-base xdotool xclip wl-clipboard
  swaylock swayidle wayvnc
  systemd libpam-systemd dbus-user-session libpam-modules file groff-base
)

missing=()
for p in "${BUILD[@]}" "${RUNTIME[@]}" "${TEST_CLIENTS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# libdisplay-info (EDID/DisplayID decoding) is only in bookworm-backports on Debian 12.
# Add that source when the machine lacks it, then take the library from it.
# meson >= 1.1 builds WebRTC's audio processing (echo cancellation); 12 has 1.0.
BACKPORTED=(libdisplay-info-dev meson)
need_backports=()
for p in "${BACKPORTED[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_backports+=("$p")
done
if ! printf '%s\n' "${need_backports[@]}" | grep -qx meson &&
  ! dpkg --compare-versions "$(dpkg-query -W -f='${Version}' meson)" ge 1.1; then
  need_backports+=(meson)
fi
if [ ${#need_backports[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  if [ "$codename" = bookworm ]; then
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo "adding the bookworm-backports package source" >&2
      printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" \
        "Suites: bookworm-backports" "Components: main" \
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" |
        $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
    fi
    $SUDO apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
      -t bookworm-backports "${need_backports[@]}" >&2
  else
    # Newer releases carry it in their main suite.
    $SUDO apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_backports[@]}" >&2
  fi
fi

"$(dirname "$0")/install-voice-deps.sh"

# PipeWire 1.4 beside the system's 0.3.65 (unpacked, not installed), for the test that
# reads an HDR share as 10-bit PQ through PipeWire's GStreamer elements.
"$(dirname "$0")/pipewire-newer.sh" "$(dirname "$0")/../target/pipewire-1.4"

# libei (Debian 13's, unpacked): the remote-desktop test's libei client.
"$(dirname "$0")/libei.sh" "$(dirname "$0")/../target/libei"

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is missing: install Rust (https://rustup.rs) and run this again" >&2
  exit 1
fi
