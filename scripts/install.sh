#!/usr/bin/env bash
# Installs ghostcomp as a login session: the binary, the session file display managers
# list (GDM, SDDM, greetd's tuigreet), the systemd user target `ghostcomp --session`
# starts, the xdg-desktop-portal backend's files, and the manual pages.
#   PREFIX   where to install (default /usr/local)
#   DESTDIR  staging root for packagers (default none)
#   BIN      the ghostcomp binary (default target/release/ghostcomp, built when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BIN=${BIN:-target/release/ghostcomp}
if [ ! -x "$BIN" ]; then
  cargo build --release -p ghost-compositor
fi
root="$DESTDIR$PREFIX"
install -Dm755 "$BIN" "$root/bin/ghostcomp"
# Display managers run Exec with a minimal PATH: name the installed binary.
install -d "$root/share/wayland-sessions"
sed -e "s|^Exec=ghostcomp |Exec=$PREFIX/bin/ghostcomp |" -e "s|^TryExec=ghostcomp$|TryExec=$PREFIX/bin/ghostcomp|" \
  data/wayland-sessions/ghostcomp.desktop >"$root/share/wayland-sessions/ghostcomp.desktop"
install -Dm644 data/systemd/ghostcomp-session.target "$root/lib/systemd/user/ghostcomp-session.target"
install -Dm644 data/portal/ghost.portal "$root/share/xdg-desktop-portal/portals/ghost.portal"
install -Dm644 data/portal/ghost-portals.conf "$root/share/xdg-desktop-portal/ghost-portals.conf"
install -d "$root/share/dbus-1/services"
sed "s|^Exec=.*|Exec=$PREFIX/bin/ghostcomp portal|" \
  data/portal/org.freedesktop.impl.portal.desktop.ghost.service \
  >"$root/share/dbus-1/services/org.freedesktop.impl.portal.desktop.ghost.service"
# ghostcomp(1) and a page per subcommand, rendered from the binary's own command line.
"$BIN" manpages "$root/share/man/man1"
echo "installed ghostcomp under $root"
