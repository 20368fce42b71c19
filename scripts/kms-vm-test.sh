#!/usr/bin/env bash
# Runs the tests that need a real kernel DRM driver: vkms in the project's QEMU VM
# (scripts/vm: Debian 12's kernel with vkms built for it; CPU emulation where the host
# has no KVM). Prints how long the VM part took. Needs root for apt (image build) like
# test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# Test executables that need the real device: crate and test target.
tests=("ghostnv-backend vkms" "ghost-kms vkms_setup" "ghost-tests kms_vm")
# One of them only: scripts/kms-vm-test.sh ghost-tests/kms_vm [TEST-NAME-FILTER]
filter=()
if [ $# -gt 0 ]; then tests=("${1%%/*} ${1#*/}"); fi
if [ $# -gt 1 ]; then filter=("$2"); fi
export GHOST_VM_DIR=${GHOST_VM_DIR:-$PWD/target/vm}
start=$(date +%s)
# seatd, for the VT-switch test: unpacked from Debian's package rather than installed,
# which would start a seat daemon on the host.
seatd=$(command -v seatd || true)
if [ -z "$seatd" ]; then
  seatd_dir=$GHOST_VM_DIR/seatd
  if [ ! -x "$seatd_dir/usr/sbin/seatd" ]; then
    mkdir -p "$seatd_dir"
    (cd "$seatd_dir" &&
      { apt-get download -q seatd >&2 || { $SUDO apt-get update -q >&2 && apt-get download -q seatd >&2; }; } &&
      dpkg-deb -x seatd_*.deb .)
  fi
  seatd=$seatd_dir/usr/sbin/seatd
fi
# ghostcomp itself, its libraries, xkb data, wlr-randr, seatd and the kiosk test's
# program go in as one folder.
# The whole workspace, as test.sh builds it: building one package alone unifies
# features differently and compiles smithay again.
cargo build --workspace --all-targets >&2
bundle=$(mktemp -d /tmp/ghost-kms-bundle.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
bash scripts/kms-vm-bundle.sh target/debug/ghostcomp "$bundle/ghostcomp" wlr-randr "$seatd" \
  target/debug/ghost-kiosk-client
G=/ghost/files/ghostcomp
# libinput's device quirks and libwacom's tablet database, where the libraries look
# for them (compiled-in paths): without libwacom's data libinput takes no tablet.
mkdir -p "$bundle/data-root/usr/share"
cp -rL /usr/share/libinput /usr/share/libwacom "$bundle/data-root/usr/share/"
# Mesa's EGL and KMS software driver, for the compositor's GLES tests only (they make
# the initramfs about 200 MB larger).
M=/ghost/files/mesa
MESA_ENV="LIBGL_DRIVERS_PATH=$M/dri __EGL_VENDOR_LIBRARY_DIRS=$M/glvnd"
# PipeWire and WirePlumber, for the screen-cast tests (kms_vm only).
W=/ghost/files/pipewire
bash scripts/kms-vm-pipewire.sh "$bundle/pipewire" "$W"
PIPEWIRE_ENV=$(tr '\n' ' ' <"$bundle/pipewire/env")
export GHOST_VM_ENV="GHOSTCOMP_BIN=$G/bin/ghostcomp PATH=$G/bin:$W/bin:/usr/bin:/usr/sbin:/bin:/sbin LD_LIBRARY_PATH=/ghost/lib:$G/lib:$M/lib:$W/lib:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu XKB_CONFIG_ROOT=$G/xkb NO_COLOR=1 $MESA_ENV $PIPEWIRE_ENV ${GHOST_VM_EXTRA_ENV:-}"
export GHOST_VM_TIMEOUT=${GHOST_VM_TIMEOUT:-600}
# A CPU model LLVM recognises: on QEMU's "max" under emulation, llvmpipe's code
# generator takes the host for a 32-bit one and aborts.
export GHOST_VM_CPU=${GHOST_VM_CPU:-qemu64}
# Mesa and PipeWire make the guest's initramfs larger than 1 GiB of memory unpacks.
export GHOST_VM_MEM=${GHOST_VM_MEM:-2G}
for t in "${tests[@]}"; do
  read -r crate target <<<"$t"
  exe=$(cargo test -p "$crate" --test "$target" --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
target = sys.argv[1]
for line in sys.stdin:
    try: m = json.loads(line)
    except ValueError: continue
    if m.get("executable") and m.get("target", {}).get("name") == target: print(m["executable"])' "$target")
  [ -n "$exe" ] || { echo "kms-vm-test: no test executable for $crate/$target" >&2; exit 1; }
  echo "kms-vm-test: $crate/$target"
  export GHOST_VM_FILES="$bundle/ghostcomp"
  if [ "$target" = kms_vm ]; then
    [ -d "$bundle/mesa" ] || bash scripts/kms-vm-mesa.sh "$bundle/mesa"
    GHOST_VM_FILES="$GHOST_VM_FILES $bundle/mesa $bundle/pipewire"
  fi
  # Stripped, so the guest's initramfs stays small.
  strip -o "$bundle/$target" "$exe"
  if [ "$target" != kms_vm ]; then
    bash scripts/vm/boot.sh "$bundle/$target" "${filter[@]}" --ignored --test-threads=1 --nocapture
    continue
  fi
  # Explicit sync and damage clips need Linux 6.12 and virtio-gpu (module linux612):
  # those tests boot bookworm-backports' kernel with virtio-gpu beside vkms; the rest
  # boot Debian 12's.
  if [[ "${filter[*]:-}" != linux612* && "${filter[*]:-}" != logind* ]]; then
    GHOST_VM_ROOT="$bundle/data-root" \
      bash scripts/vm/boot.sh "$bundle/$target" "${filter[@]}" --skip linux612 --skip logind --ignored --test-threads=1 --nocapture
  fi
  # The logind session tests (module logind) boot the VM with systemd as init.
  if [ ${#filter[@]} -eq 0 ] || [[ "${filter[*]}" == logind* ]]; then
    echo "kms-vm-test: $crate/$target logind (systemd as init, a logind session on VT 2)"
    bash scripts/kms-vm-systemd.sh "$bundle/systemd"
    GHOST_VM_INIT=systemd GHOST_VM_ROOT="$bundle/systemd" \
      bash scripts/vm/boot.sh "$bundle/$target" "${filter[@]:-logind}" --ignored --test-threads=1 --nocapture
  fi
  if [ ${#filter[@]} -eq 0 ] || [[ "${filter[*]}" == linux612* ]]; then
    echo "kms-vm-test: $crate/$target linux612 (Linux 6.12, virtio-gpu)"
    GHOST_VM_FILES="$bundle/ghostcomp" GHOST_VM_KERNEL=backports GHOST_VM_VIRTIO_GPU=1 \
      bash scripts/vm/boot.sh "$bundle/$target" "${filter[@]:-linux612}" --ignored --test-threads=1 --nocapture
  fi
done
echo "kms-vm-test: the VM tests took $(( $(date +%s) - start )) s (image build included on first use)"
