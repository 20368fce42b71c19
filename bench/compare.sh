#!/usr/bin/env bash
# Runs ghostcomp, weston and sway headless one after another in one session on this
# machine, and prints each figure with ghostcomp's ratio to the better peer
# (below 1.0 is better for time, memory and CPU; above 1.0 for fps).
# Usage: bench/compare.sh   (env: RUNS, DUR, SHOTS as in bench/peers/*.sh; QUICK=1 for
# the short run test.sh records, 3 starts and 3 s windows; GHOSTCOMP=path to measure a
# built binary instead of the release build)
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ "${QUICK:-0}" = 1 ]; then
  export RUNS=${RUNS:-3} DUR=${DUR:-3} SHOTS=${SHOTS:-3}
fi
ROOT="$(cd "$HERE/.." && pwd)"
OUT="${OUT:-$ROOT/target/bench}"
mkdir -p "$OUT"
"$HERE/ghostcomp_headless.sh" >"$OUT/ghostcomp.txt" 2>"$OUT/ghostcomp.err" || { cat "$OUT/ghostcomp.err"; exit 1; }
"$HERE/peers/weston.sh" >"$OUT/weston.txt" 2>"$OUT/weston.err" || tail "$OUT/weston.err"
"$HERE/peers/sway.sh" >"$OUT/sway.txt" 2>"$OUT/sway.err" || tail "$OUT/sway.err"

get() { awk -v k="$2:" '$1==k{print $2}' "$OUT/$1.txt"; }
row() { # name ghost_key weston_key sway_key lower_is_better
  local g w s; g=$(get ghostcomp "$2"); w=$(get weston "$3"); s=$(get sway "$4")
  awk -v n="$1" -v g="$g" -v w="$w" -v s="$s" -v low="$5" 'BEGIN{
    best=""; if (w!="") best=w; if (s!="" && (best=="" || (low && s+0<best+0) || (!low && s+0>best+0))) best=s;
    r = (best!="" && best+0!=0 && g!="") ? sprintf("%.2f", g/best) : "n/a";
    printf "%-34s ghostcomp %-9s weston %-9s sway %-9s ratio %s\n", n, g, (w==""?"-":w), (s==""?"-":s), r }'
}
echo "# ghostcomp vs peers, $(date -u +%F), $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo) x$(nproc)"
row "startup: socket (ms)"            ghostcomp_startup_socket_ms_median weston_startup_socket_ms_median sway_startup_socket_ms_median 1
row "startup: first roundtrip (ms)"   ghostcomp_startup_ready_ms_median weston_startup_ready_ms_median sway_startup_ready_ms_median 1
row "idle RSS (MiB)"                  ghostcomp_idle_rss_mib weston_idle_rss_mib sway_idle_rss_mib 1
row "idle CPU/s"                      ghostcomp_idle_cpu_per_s weston_idle_cpu_per_s sway_idle_cpu_per_s 1
row "1x256² anim: CPU/s"              ghostcomp_anim1_256_cpu_per_s weston_anim1_256_cpu_per_s sway_anim1_256_cpu_per_s 1
row "1x256² anim: fps"                ghostcomp_anim1_256_fps_each weston_anim1_256_fps_each sway_anim1_256_fps_each 0
row "10x256² anim: CPU/s"             ghostcomp_anim10_256_cpu_per_s weston_anim10_256_cpu_per_s sway_anim10_256_cpu_per_s 1
row "10x256² anim: fps each"          ghostcomp_anim10_256_fps_each weston_anim10_256_fps_each sway_anim10_256_fps_each 0
row "10x256² anim: RSS (MiB)"         ghostcomp_anim10_256_rss_mib weston_anim10_256_rss_mib sway_anim10_256_rss_mib 1
row "1x1280x720 anim: CPU/s"          ghostcomp_anim1_1280x720_cpu_per_s weston_anim1_1280x720_cpu_per_s sway_anim1_1280x720_cpu_per_s 1
row "1x1280x720 anim: fps"            ghostcomp_anim1_1280x720_fps_each weston_anim1_1280x720_fps_each sway_anim1_1280x720_fps_each 0
row "screenshot PNG 1080p (ms)"       ghostcomp_screenshot_png_1920x1080_ms_median weston_screenshooter_1920x1080_ms_median sway_grim_png_1920x1080_ms_median 1
row "screenshot PNG 4K (ms)"          ghostcomp_screenshot_png_3840x2160_ms_median weston_screenshooter_3840x2160_ms_median sway_grim_png_3840x2160_ms_median 1
