#!/usr/bin/env bash
# Quick start: installs what is missing, builds ghostcomp, and starts it with a terminal.
# Headless when no display is present, nested inside a desktop session. Extra arguments
# go to ghostcomp (e.g. ./run.sh --output 2560x1440@144).
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh
cargo build --release -p ghost-compositor
BIN=$PWD/target/release/ghostcomp

if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  export XDG_RUNTIME_DIR=/tmp/ghostcomp-runtime-$(id -u)
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 0700 "$XDG_RUNTIME_DIR"
fi

if [ -z "${WAYLAND_DISPLAY:-}${DISPLAY:-}" ]; then
  cat <<MSG
ghostcomp runs headless (no display here) with foot inside. To look at it, from another shell:
  export XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR WAYLAND_DISPLAY=ghost-0
  $BIN msg windows
  $BIN msg screenshot screen.png
  $BIN msg input type 'echo hello'\$'\\n'
Stop it with Ctrl+C here, or: $BIN msg quit
MSG
  exec "$BIN" --backend headless --socket ghost-0 "$@" -c foot
else
  exec "$BIN" "$@" -c foot
fi
