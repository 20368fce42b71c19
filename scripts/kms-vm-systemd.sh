#!/usr/bin/env bash
# Builds the files that turn the test VM into a systemd machine: Debian 12's systemd
# (PID 1, logind, the user manager), D-Bus's system bus and PAM with pam_systemd, taken
# from this machine's installed packages with the libraries they load, plus the units
# that run the test program inside a logind session on VT 2. boot.sh lays DEST over the
# guest's root when GHOST_VM_ROOT=DEST, and init.sh hands over to systemd when the
# settings say INIT=systemd. Usage: kms-vm-systemd.sh DEST   (rebuilds DEST)
set -euo pipefail
dest=$(realpath -m "$1")
pkgs=(systemd libsystemd-shared libpam-systemd dbus dbus-daemon dbus-bin dbus-system-bus-common dbus-user-session
      dbus-session-bus-common libdbus-1-3 libpam0g libpam-modules libpam-modules-bin)
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    { echo "kms-vm-systemd: $p is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
rm -rf "$dest"
mkdir -p "$dest"
# The packages' files as they are installed (paths kept; symlinks as symlinks), less
# documentation and translations.
for p in "${pkgs[@]}"; do dpkg -L "$p"; done | sort -u |
  grep -Ev '^/usr/share/(doc|man|locale|bash-completion|zsh|lintian|bug)(/|$)' |
  while read -r f; do
    if [[ ! -d $f && ( -L $f || -f $f ) ]]; then
      mkdir -p "$dest$(dirname "$f")" && cp -a "$f" "$dest$f"
    fi
  done
# udev, unpacked from Debian's package rather than installed (it would start a device
# manager on this machine): logind hands out only devices udev has tagged for a seat.
work=$(mktemp -d /tmp/ghost-udev.XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$work" &&
  { apt-get download -q udev 2>&1 | grep -v unsandboxed >&2 ||
    { ${SUDO:-} apt-get update -q >&2 && apt-get download -q udev 2>&1 | grep -v unsandboxed >&2; }; })
ls "$work"/udev_*.deb >/dev/null 2>&1 || { echo "kms-vm-systemd: cannot download udev" >&2; exit 1; }
dpkg-deb -x "$work"/udev_*.deb "$dest"
rm -rf "$dest/usr/share/doc" "$dest/usr/share/man"
# The libraries every program and module among them loads.
find "$dest" -type f \( -perm -u+x -o -name '*.so*' \) -print0 |
  xargs -0 -r file -N -0 | tr '\0' '\t' | awk -F'\t' '/ELF/ { print $1 }' |
  while read -r elf; do
    ldd "$elf" 2>/dev/null | awk '/=> \//{ print $3 }'
  done | sort -u | while read -r lib; do
    [[ -e $dest$lib ]] || { mkdir -p "$dest$(dirname "$lib")"; cp -L "$lib" "$dest$lib"; }
  done
# Users, PAM and the loader's search path for programs systemd starts (the image has no
# ld.so.cache).
mkdir -p "$dest/etc/pam.d" "$dest/etc/systemd/system" "$dest/var/lib/dbus"
cat >"$dest/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
messagebus:x:100:101::/nonexistent:/bin/false
ghost:x:1000:1000:ghost:/home/ghost:/bin/sh
PASSWD
cat >"$dest/etc/group" <<'GROUP'
root:x:0:
video:x:44:ghost
input:x:105:ghost
messagebus:x:101:
ghost:x:1000:
GROUP
echo 'root:*:19000:0:99999:7:::' >"$dest/etc/shadow"
printf 'passwd: files\ngroup: files\nshadow: files\n' >"$dest/etc/nsswitch.conf"
for service in login systemd-user other; do
  cat >"$dest/etc/pam.d/$service" <<'PAM'
auth     required pam_permit.so
account  required pam_permit.so
password required pam_deny.so
session  required pam_permit.so
session  optional pam_systemd.so
PAM
done
# No gettys: nothing else claims the session's terminal.
mkdir -p "$dest/etc/systemd"
printf '[Login]\nNAutoVTs=0\nReserveVT=0\n' >"$dest/etc/systemd/logind.conf"
cat >"$dest/etc/systemd/system.conf" <<'CONF'
[Manager]
DefaultEnvironment=LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/ghost/lib
ShowStatus=no
CONF
mkdir -p "$dest/etc/systemd/user.conf.d"
cp "$dest/etc/systemd/system.conf" "$dest/etc/systemd/user.conf.d/ghost.conf"
sed -i 's/^ShowStatus=no$//' "$dest/etc/systemd/user.conf.d/ghost.conf"
# The test: a service that opens a logind session on VT 2 (PAM with pam_systemd, as a
# display manager's greeter does) and runs /ghost/run in it; its output and exit line go
# to the serial console as in the image's own init.
cat >"$dest/etc/systemd/system/ghost-test.service" <<'UNIT'
[Unit]
Description=The test program in a logind session
Wants=systemd-logind.service dbus.service
After=systemd-logind.service dbus.service
[Service]
Type=simple
ExecStart=/ghost/systemd-test
PAMName=login
User=root
TTYPath=/dev/tty2
StandardInput=tty-force
StandardOutput=file:/dev/ttyS0
StandardError=inherit
UNIT
cat >"$dest/etc/systemd/system/ghost.target" <<'UNIT'
[Unit]
Description=The test machine
Wants=ghost-test.service
UNIT
ln -sf ghost.target "$dest/etc/systemd/system/default.target"
# A machine that is set up already, and without the units for hardware and disks it
# has not got.
echo 6c6f67696e64766d0000000000000001 >"$dest/etc/machine-id"
printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="GhostNV test VM"\n' >"$dest/etc/os-release"
for unit in systemd-firstboot kmod-static-nodes systemd-modules-load systemd-remount-fs \
            systemd-random-seed systemd-journal-flush systemd-update-utmp systemd-hwdb-update \
            systemd-pstore systemd-binfmt systemd-sysctl systemd-machine-id-commit \
            systemd-boot-system-token systemd-journal-catalog-update dev-hugepages.mount \
            dev-mqueue.mount sys-kernel-tracing.mount sys-fs-fuse-connections.mount \
            sys-kernel-config.mount tmp.mount; do
  case $unit in *.mount) ;; *) unit=$unit.service ;; esac
  ln -sf /dev/null "$dest/etc/systemd/system/$unit"
done
mkdir -p "$dest/ghost"
cat >"$dest/ghost/systemd-test" <<'RUN'
#!/bin/sh
echo GHOST_VM_START
# The session's terminal in front: logind makes the session active.
/bin/chvt 2
(cd /ghost && /ghost/run)
status=$?
echo "GHOST_VM_EXIT=$status"
sync
/bin/busybox poweroff -f
RUN
chmod +x "$dest/ghost/systemd-test"
# GHOST_VM_LOGIND_DEBUG=1: logind's debug log on the serial console (target/vm/last-serial.log).
if [ "${GHOST_VM_LOGIND_DEBUG:-0}" = 1 ]; then
  mkdir -p "$dest/etc/systemd/system/systemd-logind.service.d"
  printf '[Service]\nEnvironment=SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console\n' \
    >"$dest/etc/systemd/system/systemd-logind.service.d/debug.conf"
fi
echo "kms-vm-systemd: $(du -sh "$dest" | cut -f1) in $dest" >&2
