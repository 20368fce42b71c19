#!/usr/bin/env bash
# Packs PipeWire and WirePlumber (daemons, modules, SPA plugins, configuration) with the
# libraries they load, for the test VM, whose initramfs has none of them: screen casts
# run there beside a real KMS device. The guest finds them through the variables that
# `env` in DEST prints (PipeWire's and WirePlumber's own search-path variables).
# Usage: kms-vm-pipewire.sh DEST GUEST_DIR  (GUEST_DIR: where DEST is in the guest)
set -euo pipefail
dest=$1
guest=$2
lib=/usr/lib/x86_64-linux-gnu
rm -rf "$dest"
mkdir -p "$dest/bin" "$dest/lib" "$dest/share"
for exe in pipewire wireplumber pw-cli pw-dump; do cp -L "$(command -v "$exe")" "$dest/bin/"; done
cp -rL "$lib/pipewire-0.3" "$lib/wireplumber-0.4" "$dest/"
mkdir -p "$dest/spa-0.2"
# The plugins a video graph uses: no sound cards, cameras or network in the guest.
for plugin in support videoconvert audioconvert audiomixer control; do
  cp -rL "$lib/spa-0.2/$plugin" "$dest/spa-0.2/"
done
cp -rL /usr/share/pipewire /usr/share/wireplumber "$dest/share/"
# No Bluetooth in the guest, and no logind, whose monitor WirePlumber's Bluetooth
# part starts (it exits when that fails).
echo 'bluez_monitor.enabled = false' >"$dest/share/wireplumber/bluetooth.lua.d/80-no-bluetooth.lua"
# No D-Bus either: no device reservation and no Flatpak permission store.
cat >"$dest/share/wireplumber/main.lua.d/80-no-dbus.lua" <<'LUA'
alsa_monitor.properties["alsa.reserve"] = false
default_access.properties["enable-flatpak-portal"] = false
LUA
find "$dest/bin" "$dest/pipewire-0.3" "$dest/wireplumber-0.4" "$dest/spa-0.2" -type f -name '*' |
  while read -r so; do
    ldd "$so" 2>/dev/null | awk '/=> \//{print $3}' | while read -r dep; do
      [ -e "$dest/lib/$(basename "$dep")" ] || cp -L "$dep" "$dest/lib/"
    done
  done
cat >"$dest/env" <<ENV
PIPEWIRE_MODULE_DIR=$guest/pipewire-0.3
SPA_PLUGIN_DIR=$guest/spa-0.2
PIPEWIRE_CONFIG_DIR=$guest/share/pipewire
WIREPLUMBER_MODULE_DIR=$guest/wireplumber-0.4
WIREPLUMBER_CONFIG_DIR=$guest/share/wireplumber
WIREPLUMBER_DATA_DIR=$guest/share/wireplumber
ENV
