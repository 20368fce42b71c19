#!/usr/bin/env bash
# Plane assignment: ghost-planes against libliftoff 0.3 (Debian's libliftoff-dev), on the
# scenes S1–S11 (kms/examples/planes_bench.rs and bench/planes/liftoff_scenes.c run the
# same ones), each driving real TEST_ONLY commits and one real commit a frame on vkms in
# the project's test VM (scripts/vm), one boot after the other. Prints both tables and, per scene, layers offloaded, TEST_ONLY commits (first
# frame and steady) and CPU time per frame, with ratios (ours / libliftoff).
# Usage: bench/planes.sh   (needs root for apt, like the test suite)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT=target/bench
mkdir -p "$OUT"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for p in gcc pkg-config libdrm-dev libliftoff-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
# drmModeAtomicCommit is exported from the executable so that libliftoff's TEST_ONLY
# commits go through the counting wrapper in liftoff_scenes.c.
gcc -O2 -Wall -o "$OUT/liftoff_scenes" bench/planes/liftoff_scenes.c \
  $(pkg-config --cflags --libs libliftoff libdrm) -Wl,--export-dynamic-symbol=drmModeAtomicCommit -ldl
# Ours optimised, as libliftoff is (-O2).
cargo build --release -q -p ghost-kms --example planes_bench
strip -o "$OUT/planes_bench" target/release/examples/planes_bench
export GHOST_VM_TIMEOUT=${GHOST_VM_TIMEOUT:-900}
bash scripts/vm/boot.sh "$PWD/$OUT/liftoff_scenes" -n 120 >"$OUT/planes-liftoff.txt"
bash scripts/vm/boot.sh "$PWD/$OUT/planes_bench" >"$OUT/planes-ghost.txt"
echo "## libliftoff 0.3"
sed -n '/^| scene/,/^total/p' "$OUT/planes-liftoff.txt"
echo
echo "## ghost-planes"
sed -n '/^| scene/,$p' "$OUT/planes-ghost.txt"
echo
python3 - "$OUT/planes-ghost.txt" "$OUT/planes-liftoff.txt" <<'PY'
import re, sys

def table(path):
    rows = {}
    for line in open(path, errors="replace"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 11 and re.fullmatch(r"S\d+", cells[0]):
            rows[cells[0]] = cells
    return rows

def num(cell):
    m = re.match(r"[-\d.]+", cell)
    return float(m.group()) if m else float("nan")

def ratio(a, b):
    return f"{a / b:.2f}" if b else ("=" if a == b else "inf")

ours, theirs = table(sys.argv[1]), table(sys.argv[2])
print("## side by side (ours / libliftoff; offloaded: higher is better; tests and CPU: lower)")
print("| scene | layers | on planes mean | ratio | TEST_ONLY first | ratio | TEST_ONLY steady mean | ratio | CPU µs median | ratio |")
print("|---|---|---|---|---|---|---|---|---|---|")
for s in sorted(ours, key=lambda k: int(k[1:])):
    if s not in theirs:
        continue
    o, t = ours[s], theirs[s]
    on = (num(o[4]), num(t[4])); first = (num(o[6]), num(t[6]))
    steady = (num(o[7]), num(t[7])); cpu = (num(o[10]), num(t[10]))
    print(f"| {s} | {o[1]} | {on[0]:.2f} / {on[1]:.2f} | {ratio(*on)} | {first[0]:.0f} / {first[1]:.0f} | {ratio(*first)} "
          f"| {steady[0]:.2f} / {steady[1]:.2f} | {ratio(*steady)} | {cpu[0]:.0f} / {cpu[1]:.0f} | {ratio(*cpu)} |")
PY
