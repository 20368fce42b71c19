#!/usr/bin/env bash
# Packs Mesa's EGL and its KMS software driver (kms_swrast: GBM buffers on the KMS
# device, drawn by llvmpipe) with the libraries they load, for the test VM, whose
# initramfs has none of them: the GLES path on KMS runs there without a GPU.
# Usage: kms-vm-mesa.sh DEST  (the guest finds them through MESA_ENV below)
set -euo pipefail
dest=$1
lib=/usr/lib/x86_64-linux-gnu
rm -rf "$dest"
mkdir -p "$dest/lib" "$dest/dri" "$dest/glvnd"
cp -L "$lib/dri/kms_swrast_dri.so" "$dest/dri/"
cp -L /usr/share/glvnd/egl_vendor.d/50_mesa.json "$dest/glvnd/"
for so in "$lib/libEGL.so.1" "$lib/libEGL_mesa.so.0" "$lib/dri/kms_swrast_dri.so"; do
  [ "$so" = "$lib/dri/kms_swrast_dri.so" ] || cp -L "$so" "$dest/lib/"
  ldd "$so" | awk '/=> \//{print $3}' | while read -r dep; do
    [ -e "$dest/lib/$(basename "$dep")" ] || cp -L "$dep" "$dest/lib/"
  done
done
