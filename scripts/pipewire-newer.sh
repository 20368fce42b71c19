#!/usr/bin/env bash
# Unpacks PipeWire 1.4 (daemon, client library, modules, SPA plugins, GStreamer elements)
# from bookworm-backports into DEST, without installing it: the HDR-share test runs it
# beside Debian 12's 0.3.65, which stays the system's. Its GStreamer elements sit in
# DEST/gstreamer-1.0 beside links to the system's other plugins, so a GStreamer pointed
# there (GST_PLUGIN_SYSTEM_PATH) takes 1.4's pipewiresrc and everything else as usual.
# Usage: pipewire-newer.sh DEST   (does nothing when DEST is complete)
set -euo pipefail
dest=$(realpath -m "$1")
[ -x "$dest/usr/bin/pipewire" ] && [ -e "$dest/gstreamer-1.0/libgstpipewire.so" ] && exit 0
version=1.4.2-1~bpo12+1
pkgs=(pipewire pipewire-bin libpipewire-0.3-0 libpipewire-0.3-common libpipewire-0.3-modules
      libspa-0.2-modules gstreamer1.0-pipewire)
work=$(mktemp -d /tmp/ghost-pipewire.XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q "${pkgs[@]/%/=$version}" 2>&1 | grep -v unsandboxed >&2) || {
  echo "pipewire-newer: cannot download PipeWire $version (is bookworm-backports a package source?)" >&2
  exit 1
}
rm -rf "$dest"
mkdir -p "$dest/gstreamer-1.0"
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$dest"; done
lib=/usr/lib/x86_64-linux-gnu/gstreamer-1.0
for plugin in "$lib"/*.so; do
  [ "$(basename "$plugin")" = libgstpipewire.so ] || ln -s "$plugin" "$dest/gstreamer-1.0/"
done
ln -s "$dest/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstpipewire.so" "$dest/gstreamer-1.0/"
