#!/usr/bin/env bash
# Installs the Debian 12 packages ghostcomp needs to build, and the real clients its tests
# drive. Idempotent: only missing packages are installed. Needs root (or sudo).
set -euo pipefail

BUILD=(
  build-essential pkg-config
  libwayland-dev libxkbcommon-dev xkb-data libpixman-1-dev libudev-dev libinput-dev
  libgbm-dev libseat-dev libegl-dev libgles-dev libdrm-dev
)
RUNTIME=(
  libegl1-mesa libgl1-mesa-dri
)
TEST_CLIENTS=(
  weston foot wayland-utils grim wlr-randr fonts-dejavu-core xvfb xauth
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

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is missing: install Rust (https://rustup.rs) and run this again" >&2
  exit 1
fi
