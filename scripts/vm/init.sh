#!/bin/sh
# PID 1 of the test VM: mounts the kernel's file systems, loads vkms (and virtio-gpu
# where the VM has one) and the input modules, runs /ghost/run (written by boot.sh), prints GHOST_VM_EXIT=<status> on the
# serial console and powers off.
export PATH=/usr/bin:/usr/sbin:/bin:/sbin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/ghost/lib
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
for d in /tmp /run; do mount -t tmpfs tmpfs $d; done
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm

VKMS="enable_cursor=1 enable_overlay=1 enable_writeback=1"
DMESG=0
VIRTIO_GPU=0
[ -f /ghost/settings ] && . /ghost/settings
if [ "$VKMS" != none ]; then
    modprobe vkms $VKMS || echo "[vm] modprobe vkms $VKMS failed"
    n=0
    while [ ! -e /dev/dri/card0 ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
fi
# After vkms, so vkms stays card0.
if [ "$VIRTIO_GPU" = 1 ]; then
    modprobe virtio_gpu || echo "[vm] modprobe virtio_gpu failed"
    n=0
    while [ ! -e /dev/dri/renderD128 ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
fi
modprobe evdev 2>/dev/null
modprobe uinput 2>/dev/null

if [ "${INIT:-busybox}" = systemd ]; then
    # systemd runs the program (ghost-test.service, from kms-vm-systemd.sh), prints
    # the start and exit lines and powers off.
    exec /lib/systemd/systemd
fi
echo "GHOST_VM_START"
if [ -x /ghost/run ]; then (cd /ghost && /ghost/run); status=$?; else drm_info; status=$?; fi
echo "GHOST_VM_EXIT=$status"
if [ "$DMESG" = 1 ]; then echo "----- guest dmesg -----"; dmesg; echo "----- end of guest dmesg -----"; fi
sync
poweroff -f
