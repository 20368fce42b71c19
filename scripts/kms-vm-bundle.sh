#!/usr/bin/env bash
# Packs ghostcomp with the shared libraries it loads and the xkb data into one folder,
# for the test VM (its initramfs has neither), with any clients the tests run there.
# Usage: kms-vm-bundle.sh GHOSTCOMP DEST [CLIENT...]
set -euo pipefail
bin=$1
dest=$2
shift 2
rm -rf "$dest"
mkdir -p "$dest/bin" "$dest/lib"
# Debug information would make the guest's initramfs hundreds of megabytes.
strip -o "$dest/bin/ghostcomp" "$bin"
for exe in "$bin" "$@"; do
  [ "$exe" = "$bin" ] || strip -o "$dest/bin/$(basename "$exe")" "$(command -v "$exe")"
  ldd "$(command -v "$exe")" | awk '/=> \//{print $3}' | while read -r lib; do
    cp -L "$lib" "$dest/lib/"
  done
done
cp -rL /usr/share/X11/xkb "$dest/xkb"
