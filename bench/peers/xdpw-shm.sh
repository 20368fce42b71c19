#!/usr/bin/env bash
# Builds xdg-desktop-portal-wlr 0.7.0 from Debian's source package with one change: on a
# wlroots compositor that renders with pixman (sway headless here) wlr-screencopy offers
# no DMA-BUF format, and xdpw 0.7.0 refuses to start a cast without one; the change lets
# it fall back to shared memory instead. Prints "xdpw_shm_bin: PATH".
source "$(dirname "$0")/../lib.sh"
BIN=$BENCH_OUT/xdpw-shm/xdg-desktop-portal-wlr
if [ -x "$BIN" ] && [ "$BIN" -nt "$0" ]; then echo "xdpw_shm_bin: $BIN"; exit 0; fi
sources=/etc/apt/sources.list.d/debian.sources
if ! grep -qs '^Types:.*deb-src' "$sources" && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  note "enabling source packages in $sources"
  sed -i 's/^Types: deb$/Types: deb deb-src/' "$sources"
  apt-get update -q >&2
fi
DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q xdg-desktop-portal-wlr >&2 || exit 1
need meson ninja-build dpkg-dev python3
cd "$(scratch_dir xdpw)" || exit 1
apt-get source -q xdg-desktop-portal-wlr >&2 || exit 1
cd xdg-desktop-portal-wlr-*/ || exit 1
python3 - src/screencast/screencast.c <<'PY'
import sys
path = sys.argv[1]
src = open(path).read()
strict = """	if (cast->screencopy_frame_info[WL_SHM].format == DRM_FORMAT_INVALID ||
			(cast->ctx->state->screencast_version >= 3 &&
			 cast->screencopy_frame_info[DMABUF].format == DRM_FORMAT_INVALID)) {"""
if strict not in src:
    sys.exit("screencast.c: the format check is not where xdpw 0.7.0 has it")
shm_only = """	if (cast->screencopy_frame_info[WL_SHM].format != DRM_FORMAT_INVALID &&
			cast->screencopy_frame_info[DMABUF].format == DRM_FORMAT_INVALID) {
		logprint(INFO, "wlroots: no DMA-BUF screencopy format, casting from shared memory");
		cast->avoid_dmabufs = true;
	}
	if (cast->screencopy_frame_info[WL_SHM].format == DRM_FORMAT_INVALID) {"""
open(path, "w").write(src.replace(strict, shm_only))
PY
meson setup build --buildtype=release -Dman-pages=disabled >&2 || meson setup build --buildtype=release >&2 || exit 1
ninja -C build >&2 || exit 1
mkdir -p "$(dirname "$BIN")"
cp build/xdg-desktop-portal-wlr "$BIN"
echo "xdpw_shm_bin: $BIN"
