#!/usr/bin/env bash
# Unpacks libei (the client library of the emulated-input protocol) from Debian 13's
# archive into DEST, without installing it: Debian 12 has no libei, and the remote-desktop
# test drives ghostcomp's EIS server with the real library (through ctypes). libei1
# needs only libc 2.17, so 13's build runs on 12. Checked against its SHA-256.
# Usage: libei.sh DEST   (does nothing when DEST has it)
set -euo pipefail
dest=$(realpath -m "$1")
lib=$dest/usr/lib/x86_64-linux-gnu/libei.so.1
[ -e "$lib" ] && exit 0
version=1.3.901-1
deb=libei1_${version}_amd64.deb
sha=de3e735f2ecf97cdcd51251ec5c1f84d5ff0ce9f8f822dd7b345dc293af446f0
work=$(mktemp -d /tmp/ghost-libei.XXXXXX)
trap 'rm -rf "$work"' EXIT
curl -fsSL --retry 3 -o "$work/$deb" "http://deb.debian.org/debian/pool/main/libe/libei/$deb" || {
  echo "libei.sh: cannot download $deb from Debian's archive" >&2
  exit 1
}
echo "$sha  $work/$deb" | sha256sum -c --quiet - || {
  echo "libei.sh: $deb does not match its checksum" >&2
  exit 1
}
rm -rf "$dest"
mkdir -p "$dest"
dpkg-deb -x "$work/$deb" "$dest"
[ -e "$lib" ]
