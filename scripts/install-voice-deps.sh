#!/usr/bin/env bash
# What the voice DSP (ghost-voice) needs beyond Debian 12's own packages, each from
# Debian's archive and checked against the archive's SHA-256:
#  - RNNoise 0.2 (librnnoise-dev, BSD-3-Clause, model trained by Xiph on public data),
#    packaged from Debian forky on; the quality suppressor links it statically.
#  - abseil-cpp 20240722 (Apache-2.0), which WebRTC's audio processing (the echo
#    canceller, built by the webrtc-audio-processing crate) needs and 12 has too old:
#    built static from Debian trixie's source into /usr/local.
#  - a Python virtual environment with the PESQ and STOI scorers (PyPI `pesq` 0.0.4,
#    `pystoi` 0.4.1) the voice tests judge speech with: target/score-venv.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
MIRROR=http://deb.debian.org/debian
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Prints "Filename SHA256" of a binary package in a suite's index.
deb_in_suite() {
  curl -fsSL "$MIRROR/dists/$1/main/binary-amd64/Packages.xz" | xz -dc |
    awk -v pkg="$2" '$1 == "Package:" { hit = ($2 == pkg) }
      hit && $1 == "Filename:" { f = $2 } hit && $1 == "SHA256:" && !done { print f, $2; done = 1 }'
}

fetch_checked() { # URL SHA256 FILE
  curl -fsSL -o "$3" "$1"
  echo "$2  $3" | sha256sum -c --quiet -
}

rnnoise_version=$(dpkg-query -W -f='${Version}' librnnoise-dev 2>/dev/null || true)
if [ -z "$rnnoise_version" ] || dpkg --compare-versions "$rnnoise_version" lt 0.2; then
  debs=()
  for pkg in librnnoise0 librnnoise-dev; do
    found=""
    for suite in forky sid; do
      found=$(deb_in_suite "$suite" "$pkg") && [ -n "$found" ] && break
    done
    [ -n "$found" ] || { echo "no $pkg in Debian's archive" >&2; exit 1; }
    read -r file sum <<<"$found"
    fetch_checked "$MIRROR/$file" "$sum" "$WORK/$pkg.deb"
    debs+=("$WORK/$pkg.deb")
  done
  echo "installing RNNoise 0.2 from Debian's archive" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${debs[@]}" >&2
fi

if ! pkg-config --atleast-version=20240722 absl_base 2>/dev/null; then
  echo "building abseil-cpp 20240722 (static) into /usr/local" >&2
  fetch_checked "$MIRROR/pool/main/a/abseil/abseil_20240722.0.orig.tar.gz" \
    df6d1f5ef540725f3851201176a60486aab332410788465c9877910bb471c34a "$WORK/absl.tar.gz"
  tar -xzf "$WORK/absl.tar.gz" -C "$WORK"
  cmake -S "$WORK/abseil-20240722.0" -B "$WORK/absl-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_STANDARD=17 -DABSL_PROPAGATE_CXX_STD=ON -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DBUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX=/usr/local >&2
  ninja -C "$WORK/absl-build" >&2
  $SUDO ninja -C "$WORK/absl-build" install >&2
fi

VENV="$ROOT/target/score-venv"
if ! "$VENV/bin/python" -c 'import pesq, pystoi' 2>/dev/null; then
  echo "setting up the speech scorers in $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    numpy==2.4.6 scipy==1.17.1 pesq==0.0.4 pystoi==0.4.1 >&2
fi
