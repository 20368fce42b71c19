#!/usr/bin/env bash
# Boots the test VM (Debian 12's kernel with vkms: one CRTC, a primary, eight overlay and
# a cursor plane, a writeback connector) in QEMU and runs one program in it as root, with
# /dev/dri/card0 the vkms device. Prints the program's output and exits with its status:
# 124 when the VM ran out of time, 125 when it failed to boot or to say how it ended.
#
#   scripts/vm/boot.sh [PROGRAM [ARGS...]]   (no PROGRAM: drm_info)
#
# PROGRAM is a host executable (copied in with the shared libraries ldd lists) or the
# name of a command in the guest (sh, drm_info, busybox applets). Environment:
#   GHOST_VM_ENV      "K=V K=V" exported for PROGRAM (values without spaces)
#   GHOST_VM_FILES    host files or folders copied to /ghost/files/ in the guest
#   GHOST_VM_TIMEOUT  seconds for the whole boot (300)
#   GHOST_VM_CPU / GHOST_VM_MEM / GHOST_VM_SMP   QEMU's -cpu (qemu64), memory (1G), CPUs (1)
#   GHOST_VM_ACCEL    auto (KVM where a probe boot under it works, else emulation), kvm, tcg
#   GHOST_VM_VKMS     vkms module parameters, or "none"
#   GHOST_VM_APPEND   more kernel command line (e.g. drm.debug=0x1e with GHOST_VM_DMESG=1)
#   GHOST_VM_DMESG    1: print the guest's kernel log after PROGRAM
#   GHOST_VM_DIR      image cache (target/vm), built by image.sh on first use
#   GHOST_VM_KERNEL   stable (Debian 12's 6.1) or backports (bookworm-backports' 6.12)
#   GHOST_VM_VIRTIO_GPU  1: a virtio-gpu device beside vkms (syncobj timelines on 6.12)
#   GHOST_VM_ROOT     a folder laid over the guest's root (scripts/kms-vm-systemd.sh)
#   GHOST_VM_INIT     systemd: PID 1 hands over to systemd, which runs PROGRAM in a
#                     logind session (needs GHOST_VM_ROOT from kms-vm-systemd.sh)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export GHOST_VM_DIR=${GHOST_VM_DIR:-target/vm}
"$HERE/image.sh" || { echo "[vm] the image could not be built" >&2; exit 125; }
DIR=$(cd "$GHOST_VM_DIR" && pwd)
[[ ${GHOST_VM_KERNEL:-stable} == stable ]] || DIR=$DIR/$GHOST_VM_KERNEL
extra_devices=()
[[ ${GHOST_VM_VIRTIO_GPU:-0} != 1 ]] || extra_devices=(-device virtio-gpu-pci)

TMP=$(mktemp -d /tmp/ghost-vm.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
P=$TMP/payload/ghost
mkdir -p "$P/bin" "$P/files"
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

[[ $# -gt 0 ]] || set -- drm_info
program=$1; shift
if [[ $program == */* || -f $program ]]; then
  [[ -x $program ]] || { echo "[vm] $program is not executable" >&2; exit 125; }
  cp -L "$program" "$P/bin/"
  # The program's libraries go to /ghost/lib, after the image's own in the search path.
  ldd "$program" 2>/dev/null | awk '/=> \//{ print $3 }' | while read -r lib; do
    mkdir -p "$P/lib"; cp -L "$lib" "$P/lib/"
  done
  program=/ghost/bin/$(basename "$program")
fi
{
  echo '#!/bin/sh'
  echo 'export RUST_BACKTRACE=${RUST_BACKTRACE:-1} HOME=/tmp XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/run}'
  for kv in ${GHOST_VM_ENV:-}; do echo "export $(quote "$kv")"; done
  printf 'exec %s' "$(quote "$program")"
  for a in "$@"; do printf ' %s' "$(quote "$a")"; done
  echo
} >"$P/run"
chmod +x "$P/run"
for f in ${GHOST_VM_FILES:-}; do cp -a "$f" "$P/files/"; done
{
  echo "VKMS=$(quote "${GHOST_VM_VKMS:-enable_cursor=1 enable_overlay=1 enable_writeback=1}")"
  echo "DMESG=${GHOST_VM_DMESG:-0}"
  echo "VIRTIO_GPU=${GHOST_VM_VIRTIO_GPU:-0}"
  echo "INIT=${GHOST_VM_INIT:-busybox}"
} >"$P/settings"
# A second cpio appended to the image's: the kernel unpacks both into one root.
(cd "$TMP/payload" && find . -print0 | sort -z | cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >"$TMP/payload.cpio.gz"
cat "$DIR/initramfs.cpio.gz" "$TMP/payload.cpio.gz" >"$TMP/initrd"
if [[ -n ${GHOST_VM_ROOT:-} ]]; then
  (cd "$GHOST_VM_ROOT" && find . -print0 | sort -z | cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >>"$TMP/initrd"
fi

qemu() { # TIMEOUT ACCEL INITRD APPEND...
  local limit=$1 accel=$2 initrd=$3; shift 3
  timeout --foreground -k 5 "$limit" qemu-system-x86_64 -machine q35 -accel "$accel" \
    -cpu "${GHOST_VM_CPU:-qemu64}" -smp "${GHOST_VM_SMP:-1}" -m "${GHOST_VM_MEM:-1G}" \
    -nodefaults -display none -no-reboot -monitor none -serial stdio "${extra_devices[@]}" \
    -kernel "$DIR/vmlinuz" -initrd "$initrd" -append "console=ttyS0 panic=-1 oops=panic rdinit=/init $*" </dev/null
}
# /dev/kvm may answer and still not run guests (nested set-ups): KVM is used only after
# a probe boot under it reached the exit line. The verdict is kept in $DIR/accel.
accel=${GHOST_VM_ACCEL:-auto}
if [[ $accel == auto ]]; then
  if [[ -s $DIR/accel ]]; then
    accel=$(cat "$DIR/accel")
  elif [[ -r /dev/kvm && -w /dev/kvm ]]; then
    mkdir -p "$TMP/probe/ghost"
    printf '#!/bin/sh\nexit 0\n' >"$TMP/probe/ghost/run"; chmod +x "$TMP/probe/ghost/run"
    echo "VKMS=none" >"$TMP/probe/ghost/settings"
    (cd "$TMP/probe" && find . | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$TMP/probe.cpio.gz"
    cat "$DIR/initramfs.cpio.gz" "$TMP/probe.cpio.gz" >"$TMP/probe.initrd"
    if qemu 30 kvm "$TMP/probe.initrd" loglevel=1 2>&1 | tr -d '\r' | grep -q '^GHOST_VM_EXIT=0'; then
      accel=kvm; else accel=tcg; fi
    echo "$accel" >"$DIR/accel"
  else
    accel=tcg
  fi
fi

append="loglevel=1 drm_kms_helper.fbdev_emulation=0 ${GHOST_VM_APPEND:-}"
[[ ${GHOST_VM_INIT:-busybox} != systemd ]] || append+=" systemd.show_status=0 systemd.log_target=console systemd.log_level=warning systemd.firstboot=off"
status_file=$TMP/status
start=$(date +%s.%N)
set +e
qemu "${GHOST_VM_TIMEOUT:-300}" "$accel" "$TMP/initrd" "$append" 2>&1 | tee "$DIR/last-serial.log" | tr -d '\r' |
  awk -v status_file="$status_file" '
    /^GHOST_VM_START$/ { on = 1; next }
    /^GHOST_VM_EXIT=/ { on = 0; sub(/^GHOST_VM_EXIT=/, ""); print > status_file; close(status_file); next }
    /^----- guest dmesg -----$/ { on = 2 }
    /^----- end of guest dmesg -----$/ { print; on = 0; next }
    on || /^\[vm\]|qemu-system|Kernel panic/ { print; fflush() }'
qemu_status=${PIPESTATUS[0]}
set -e
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if [[ -s $status_file ]]; then
  status=$(cat "$status_file")
  echo "[vm] exit status $status after ${took}s ($accel, kernel $(cat "$DIR/kernel-version"))" >&2
  exit "$status"
elif [[ $qemu_status == 124 || $qemu_status == 137 ]]; then
  echo "[vm] out of time after ${GHOST_VM_TIMEOUT:-300}s (serial log: $DIR/last-serial.log)" >&2
  exit 124
fi
echo "[vm] the VM ended without an exit line (QEMU status $qemu_status, ${took}s); serial log: $DIR/last-serial.log" >&2
exit 125
