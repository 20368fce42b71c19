#!/usr/bin/env bash
# Builds the test VM's boot files once: Debian 12's own kernel, a vkms module compiled
# for it (Debian builds its kernels without vkms), and a busybox initramfs that loads it.
# Everything comes from Debian's archive with apt; nothing is installed into the host's
# /usr/src or /lib/modules. The result is cached in $GHOST_VM_DIR (target/vm):
# vmlinuz, initramfs.cpio.gz, kernel-version. GHOST_VM_REBUILD=1 builds it again.
# GHOST_VM_KERNEL=backports takes bookworm-backports' kernel (Linux 6.12: syncobj
# eventfd waits, and virtio-gpu with syncobj timelines) into $GHOST_VM_DIR/backports,
# reading the archive through an apt state of its own so the host's is left alone.
# Needs root for apt when packages are missing.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${GHOST_VM_DIR:-target/vm}
FLAVOUR=${GHOST_VM_KERNEL:-stable}
[[ $FLAVOUR == stable ]] || DIR=$DIR/$FLAVOUR
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
say() { echo "[vm image] $*" >&2; }

if [[ -z "${GHOST_VM_REBUILD:-}" && -s $DIR/vmlinuz && -s $DIR/initramfs.cpio.gz && -s $DIR/kernel-version \
      && $DIR/initramfs.cpio.gz -nt $HERE/init.sh ]]; then
  exit 0
fi

SUDO=""; [[ $(id -u) == 0 ]] || SUDO=sudo
# Host tools: QEMU, busybox for the guest's userland, what the kernel's module build needs.
need=()
for pair in qemu-system-x86_64:qemu-system-x86 cpio:cpio depmod:kmod xz:xz-utils gcc-12:gcc-12 \
            make:make ld:binutils python3:python3 drm_info:drm-info; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" || need+=(busybox-static)
dpkg-query -W -f='${Status}' libelf1 2>/dev/null | grep -q "ok installed" || need+=(libelf1)
if [[ ${#need[@]} -gt 0 ]]; then
  # qemu-system-x86 has to match qemu-utils: where qemu-utils came from bookworm-backports,
  # take QEMU from there too, or apt refuses.
  target=()
  if [[ " ${need[*]} " == *" qemu-system-x86 "* ]] && dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null | grep -q bpo; then
    target=(-t bookworm-backports)
  fi
  say "installing ${need[*]}"
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${target[@]}" "${need[@]}" >&2
fi

WORK=$DIR/build
rm -rf "$WORK"; mkdir -p "$WORK/debs" "$WORK/tree"
trap 'rm -rf "$WORK"' EXIT

# The kernel Debian 12 boots today (or bookworm-backports' newest), and the packages
# needed to build a module for it.
APT=()
if [[ $FLAVOUR == backports ]]; then
  A=$DIR/apt
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
  # The host's own Debian mirror, with only the backports suite listed.
  mirror=$({ grep -rhoE 'https?://[^ ]+/debian/?' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null || true; } |
           grep -v security | head -n1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "deb ${mirror%/} bookworm-backports main" >"$A/sources.list"
  APT=(-o Dir::Etc::SourceList="$A/sources.list" -o Dir::Etc::SourceParts=/nonexistent
       -o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache"
       -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
  say "reading bookworm-backports (apt state in $A)"
  apt-get "${APT[@]}" update -q >&2
else
  apt-cache policy linux-image-amd64 2>/dev/null | grep -q 'Candidate: [0-9]' || $SUDO apt-get update -q >&2
fi
depends_on() { apt-cache "${APT[@]}" depends "$1" | awk -v re="$2" '$1 == "Depends:" && $2 ~ re { print $2; exit }'; }
image_pkg=$(depends_on linux-image-amd64 '^linux-image-[0-9]')
[[ -n $image_pkg ]] || { say "no versioned package behind linux-image-amd64"; exit 1; }
kver=${image_pkg#linux-image-}
series=$(cut -d. -f1,2 <<<"$kver")
headers_pkg=linux-headers-$kver
pkgs=("$image_pkg" "$headers_pkg" "$(depends_on "$headers_pkg" '^linux-headers-.*-common')"
      "$(depends_on "$headers_pkg" '^linux-kbuild-')" "linux-source-$series")
say "kernel $kver: downloading ${pkgs[*]}"
(cd "$WORK/debs" && apt-get "${APT[@]}" download -q "${pkgs[@]}" 2>&1 | grep -v unsandboxed >&2) || true
for p in "${pkgs[@]}"; do
  ls "$WORK/debs/${p}"_*.deb >/dev/null 2>&1 || { say "download of $p failed"; exit 1; }
done
deb() { ls "$WORK/debs/$1"_*.deb | head -n1; }

T=$WORK/tree
dpkg -x "$(deb "$image_pkg")" "$T/image"
for p in "${pkgs[@]:1:3}"; do dpkg -x "$(deb "$p")" "$T/headers"; done
H=$T/headers/usr/src/linux-headers-$kver
# The headers' Makefile includes the -common package and kbuild by absolute path.
sed -i -e "s|include /usr/src/|include $T/headers/usr/src/|" \
       -e "s|/usr/lib/linux-kbuild|$T/headers/usr/lib/linux-kbuild|g" "$H/Makefile"
dpkg-deb --fsys-tarfile "$(deb "linux-source-$series")" |
  tar -xO "./usr/src/linux-source-$series.tar.xz" |
  tar -xJ -C "$T" "linux-source-$series/drivers/gpu/drm/vkms"
V=$T/linux-source-$series/drivers/gpu/drm/vkms

# 6.1's vkms never says that its virtual and writeback encoders may drive one CRTC
# together, while Debian's 6.1 checks it (drm_atomic_check_valid_clones, a stable
# backport): a commit that turns the writeback connector on beside the display fails
# with EINVAL. Newer vkms declares them clones of each other; so do we.
if ! grep -q possible_clones "$V/vkms_output.c"; then
  python3 - "$V/vkms_output.c" <<'PY'
import sys
path = sys.argv[1]
src = open(path).read()
anchor = '\t\tif (writeback)\n\t\t\tDRM_ERROR("Failed to init writeback connector\\n");\n'
if anchor not in src:
    sys.exit("vkms_output.c: writeback set-up not where expected")
clones = anchor + (
    '\t\telse {\n'
    '\t\t\tstruct drm_encoder *wb = &vkmsdev->output.wb_connector.encoder;\n\n'
    '\t\t\tencoder->possible_clones = drm_encoder_mask(encoder) | drm_encoder_mask(wb);\n'
    '\t\t\twb->possible_clones = encoder->possible_clones;\n'
    '\t\t}\n')
open(path, "w").write(src.replace(anchor, clones))
PY
fi
say "building vkms.ko"
make -C "$H" M="$V" CC=gcc-12 CONFIG_DRM_VKMS=m CONFIG_DEBUG_INFO_BTF_MODULES= modules \
  >"$WORK/vkms.log" 2>&1 || { tail -n 40 "$WORK/vkms.log" >&2; exit 1; }

mods=$T/image/lib/modules/$kver
[[ -d $mods ]] || mods=$T/image/usr/lib/modules/$kver
mkdir -p "$mods/extra"
cp "$V/vkms.ko" "$mods/extra/"
depmod -b "${mods%/lib/modules/$kver}" "$kver"

# The initramfs: busybox, the modules the tests need with everything they depend on
# (vkms; 9p over virtio for a shared output folder; uinput and evdev for synthetic
# input devices; virtio-gpu, loaded only where the VM has one), drm_info, and our init.
R=$T/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,ghost,lib64} "$R/lib/modules/$kver"
cp /bin/busybox "$R/bin/"
for applet in $(/bin/busybox --list); do [[ -e $R/bin/$applet ]] || ln -s busybox "$R/bin/$applet"; done
wanted=(extra/vkms.ko)
for m in fs/9p/9p net/9p/9pnet_virtio drivers/virtio/virtio_pci drivers/input/misc/uinput drivers/input/evdev \
         drivers/gpu/drm/virtio/virtio-gpu; do
  key=$(awk -F: -v m="kernel/$m.ko" 'index($1, m) == 1 { print $1; exit }' "$mods/modules.dep")
  [[ -z $key ]] || wanted+=("$key")
done
declare -A taken=()
while [[ ${#wanted[@]} -gt 0 ]]; do
  m=${wanted[0]}; wanted=("${wanted[@]:1}")
  [[ -z ${taken[$m]:-} ]] || continue
  taken[$m]=1
  out=$R/lib/modules/$kver/${m%.xz}
  mkdir -p "$(dirname "$out")"
  case $m in *.xz) xz -dc "$mods/$m" >"$out" ;; *) cp "$mods/$m" "$out" ;; esac
  for dep in $(awk -F': ' -v m="$m" '$1 == m { print $2 }' "$mods/modules.dep"); do wanted+=("$dep"); done
done
cp "$mods"/modules.builtin* "$R/lib/modules/$kver/" 2>/dev/null || true
(cd "$R/lib/modules/$kver" && find . -name '*.ko' | sed 's|^\./||' | sort) >"$R/lib/modules/$kver/modules.order"
depmod -b "$R" "$kver"
with_libs() { # HOST-PATH GUEST-PATH
  mkdir -p "$R$(dirname "$2")"; cp -L "$1" "$R$2"
  ldd "$1" 2>/dev/null | awk '/=> \//{ print $3 } /^[ \t]*\/.*ld-linux/{ print $1 }' | while read -r lib; do
    [[ -e $R$lib ]] || { mkdir -p "$R$(dirname "$lib")"; cp -L "$lib" "$R$lib"; }
  done
}
with_libs "$(command -v drm_info)" /usr/bin/drm_info
install -m 755 "$HERE/init.sh" "$R/init"

(cd "$R" && find . -print0 | sort -z | cpio --null -o -H newc --quiet -R 0:0) | gzip -6 >"$DIR/initramfs.cpio.gz"
cp "$T/image/boot/vmlinuz-$kver" "$DIR/vmlinuz"
echo "$kver" >"$DIR/kernel-version"
say "ready: kernel $kver, initramfs $(du -h "$DIR/initramfs.cpio.gz" | cut -f1)"
