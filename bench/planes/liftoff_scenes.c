/* liftoff_scenes: libliftoff 0.3 (Debian 12's libliftoff-dev) on the plane-assignment
 * scenes S1–S11 of kms/examples/planes_bench.rs (the same layers, rectangles, formats,
 * z-order and per-frame changes), for bench/planes.sh to compare with ghost-planes.
 *
 *   liftoff_scenes [-n FRAMES]        (in the test VM: /dev/dri/card0 is vkms)
 *
 * Each scene: a fresh liftoff device and output, a composition layer carrying the
 * desktop's framebuffer (as wlroots' libliftoff backend does), then per frame the scene's
 * changes, liftoff_output_apply (timed, wall and thread CPU) and one real blocking
 * commit. TEST_ONLY commits are counted by defining drmModeAtomicCommit here: the
 * executable exports it, so libliftoff's calls land here first and go on to libdrm's.
 * Prints one table row per scene; the columns bench/planes.sh reads are 1 (layers),
 * 4 (on planes mean), 6 (TEST_ONLY first), 7 (TEST_ONLY steady mean) and 10 (apply CPU
 * median, µs). Exit status 4 when a real commit or an apply failed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libliftoff.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#define XR 0x34325258u /* XRGB8888 */
#define AR 0x34325241u /* ARGB8888 */
enum { MAX_LAYERS = 12, MAX_FRAMES = 10000 };

/* ---- counting TEST_ONLY commits ---------------------------------------------------- */
typedef int (*commit_fn)(int, drmModeAtomicReqPtr, uint32_t, void *);
static long test_commits;
static double test_commit_ns;

static double clock_ns(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int drmModeAtomicCommit(int fd, drmModeAtomicReqPtr req, uint32_t flags, void *user) {
  static commit_fn libdrm;
  if (!libdrm && !(libdrm = (commit_fn)dlsym(RTLD_NEXT, "drmModeAtomicCommit"))) abort();
  if (!(flags & DRM_MODE_ATOMIC_TEST_ONLY)) return libdrm(fd, req, flags, user);
  double t0 = clock_ns(CLOCK_MONOTONIC);
  int ret = libdrm(fd, req, flags, user);
  test_commit_ns += clock_ns(CLOCK_MONOTONIC) - t0;
  test_commits++;
  return ret;
}

/* ---- the scenes --------------------------------------------------------------------- */
struct layer_def {
  const char *name;
  int x, y, w, h;
  uint32_t format;
  bool flips;       /* FB_ID alternates between two buffers every frame */
  int fb_w, fb_h;   /* buffer size when larger than w×h (the resizing window) */
  uint16_t alpha;   /* the plane "alpha" property, when nonzero */
};
struct layer_state { int x, y, w, h; bool visible; };
struct scene {
  const char *id;
  int count;
  struct layer_def layers[MAX_LAYERS];
  void (*change)(struct layer_state *layers, int frame);
};

static void still(struct layer_state *l, int f) { (void)l; (void)f; }
static void cursor_moves(struct layer_state *l, int f) { l[1].x = 200 + f * 13 % 1500; l[1].y = 150 + f * 7 % 700; }
static void window_moves(struct layer_state *l, int f) { l[2].x = 100 + f * 17 % 1100; l[2].y = 100 + f * 9 % 500; }
static void windows_toggle(struct layer_state *l, int f) {
  for (int i = 1; i <= 4; i++) l[i].visible = (f / 10 + i) % 2 == 1;
}
static void window_resizes(struct layer_state *l, int f) { l[2].w = 400 + f * 23 % 500; l[2].h = 300 + f * 11 % 300; }

#define DESKTOP {"desktop", 0, 0, 1920, 1080, XR, false, 0, 0, 0}
#define CURSOR(x, y) {"cursor", x, y, 64, 64, AR, false, 0, 0, 0}
#define WIN(n, x, y, w, h, f) {n, x, y, w, h, f, false, 0, 0, 0}
static struct scene scenes[] = {
  {"S1", 2, {DESKTOP, CURSOR(960, 540)}, cursor_moves},
  {"S2", 2, {DESKTOP, {"video", 0, 0, 1920, 1080, XR, true, 0, 0, 0}}, still},
  {"S3", 3, {DESKTOP, {"video", 320, 180, 1280, 720, XR, true, 0, 0, 0}, CURSOR(1000, 600)}, still},
  {"S4", 5, {DESKTOP, WIN("win1", 100, 100, 800, 600, XR), WIN("win2", 500, 300, 800, 600, AR),
             WIN("win3", 900, 200, 640, 480, XR), WIN("win4", 1200, 500, 640, 480, AR)}, still},
  {"S5", 12, {DESKTOP, WIN("win1", 80, 60, 400, 300, XR), WIN("win2", 230, 140, 400, 300, AR),
              WIN("win3", 380, 220, 400, 300, XR), WIN("win4", 530, 300, 400, 300, AR),
              WIN("win5", 680, 380, 400, 300, XR), WIN("win6", 830, 460, 400, 300, AR),
              WIN("win7", 980, 540, 400, 300, XR), WIN("win8", 1130, 620, 400, 300, AR),
              WIN("win9", 1280, 700, 400, 300, XR), WIN("win10", 1430, 740, 400, 300, AR),
              CURSOR(1700, 900)}, still},
  {"S6", 4, {DESKTOP, WIN("win1", 200, 150, 800, 600, XR), WIN("moving", 100, 100, 640, 480, AR),
             CURSOR(1500, 800)}, window_moves},
  {"S7", 6, {DESKTOP, WIN("win1", 100, 100, 600, 400, XR), WIN("win2", 500, 300, 600, 400, AR),
             WIN("win3", 900, 150, 600, 400, XR), WIN("win4", 1200, 550, 600, 400, AR),
             CURSOR(1000, 500)}, windows_toggle},
  {"S8", 6, {DESKTOP, WIN("win1", 100, 100, 800, 600, XR), WIN("win2", 600, 250, 640, 480, AR),
             WIN("win3", 1100, 150, 640, 480, XR), WIN("win4", 300, 650, 500, 350, AR),
             CURSOR(700, 400)}, still},
  {"S9", 5, {DESKTOP, WIN("win1", 100, 100, 800, 600, XR), {"win2", 500, 300, 800, 600, AR, false, 0, 0, 0x8000},
             WIN("win3", 900, 200, 640, 480, XR), WIN("win4", 1200, 500, 640, 480, AR)}, still},
  {"S10", 4, {DESKTOP, WIN("win1", 200, 150, 800, 600, XR), {"resizing", 600, 300, 400, 300, AR, false, 900, 600, 0},
              CURSOR(1500, 800)}, window_resizes},
  {"S11", 6, {{"desktop", 0, 0, 1920, 1080, XR, true, 0, 0, 0}, {"win1", 100, 100, 800, 600, XR, true, 0, 0, 0},
              {"win2", 600, 250, 640, 480, AR, true, 0, 0, 0}, {"win3", 1100, 150, 640, 480, XR, true, 0, 0, 0},
              {"win4", 300, 650, 500, 350, AR, true, 0, 0, 0}, {"cursor", 700, 400, 64, 64, AR, true, 0, 0, 0}}, still},
};

/* ---- the device --------------------------------------------------------------------- */
static int card = -1, width, height;
static uint32_t crtc, connector;
static drmModeModeInfo mode;

static uint32_t property_id(uint32_t object, uint32_t type, const char *name) {
  drmModeObjectProperties *props = drmModeObjectGetProperties(card, object, type);
  uint32_t id = 0;
  for (uint32_t i = 0; props && i < props->count_props && !id; i++) {
    drmModePropertyRes *p = drmModeGetProperty(card, props->props[i]);
    if (p && strcmp(p->name, name) == 0) id = p->prop_id;
    drmModeFreeProperty(p);
  }
  drmModeFreeObjectProperties(props);
  return id;
}

/* A dumb buffer of one colour, as a framebuffer; returns its id (0 on failure). */
static uint32_t solid_framebuffer(int w, int h, uint32_t format, uint32_t colour) {
  struct drm_mode_create_dumb create = {.width = (uint32_t)w, .height = (uint32_t)h, .bpp = 32};
  if (drmIoctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &create)) return 0;
  struct drm_mode_map_dumb map = {.handle = create.handle};
  if (drmIoctl(card, DRM_IOCTL_MODE_MAP_DUMB, &map)) return 0;
  uint32_t *pixels = mmap(NULL, create.size, PROT_READ | PROT_WRITE, MAP_SHARED, card, (off_t)map.offset);
  if (pixels == MAP_FAILED) return 0;
  for (uint64_t i = 0; i < create.size / 4; i++) pixels[i] = colour;
  munmap(pixels, create.size);
  uint32_t handles[4] = {create.handle}, pitches[4] = {create.pitch}, offsets[4] = {0}, fb = 0;
  if (drmModeAddFB2(card, (uint32_t)w, (uint32_t)h, format, handles, pitches, offsets, &fb, 0)) return 0;
  return fb;
}

/* Opens the card, picks the first connected connector at 1920x1080@60 and lights it with
 * a grey primary plane (not counted). */
static int light_display(void) {
  card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
  if (card < 0 || drmSetClientCap(card, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1) ||
      drmSetClientCap(card, DRM_CLIENT_CAP_ATOMIC, 1)) { perror("liftoff_scenes: card0"); return -1; }
  drmModeRes *res = drmModeGetResources(card);
  drmModeConnector *conn = NULL;
  for (int i = 0; res && i < res->count_connectors && !conn; i++) {
    conn = drmModeGetConnector(card, res->connectors[i]);
    if (conn && (conn->connection == DRM_MODE_DISCONNECTED || conn->count_modes == 0)) {
      drmModeFreeConnector(conn);
      conn = NULL;
    }
  }
  if (!conn) { fprintf(stderr, "liftoff_scenes: no connector\n"); return -1; }
  connector = conn->connector_id;
  crtc = res->crtcs[0];
  mode = conn->modes[0];
  for (int i = conn->count_modes - 1; i >= 0; i--)
    if (conn->modes[i].hdisplay == 1920 && conn->modes[i].vdisplay == 1080 && conn->modes[i].vrefresh == 60)
      mode = conn->modes[i];
  width = mode.hdisplay;
  height = mode.vdisplay;
  drmModeFreeConnector(conn);
  drmModeFreeResources(res);

  uint32_t primary = 0, blob = 0;
  drmModePlaneRes *planes = drmModeGetPlaneResources(card);
  for (uint32_t i = 0; planes && i < planes->count_planes && !primary; i++) {
    drmModeObjectProperties *props = drmModeObjectGetProperties(card, planes->planes[i], DRM_MODE_OBJECT_PLANE);
    for (uint32_t j = 0; props && j < props->count_props; j++) {
      drmModePropertyRes *p = drmModeGetProperty(card, props->props[j]);
      if (p && strcmp(p->name, "type") == 0 && props->prop_values[j] == DRM_PLANE_TYPE_PRIMARY)
        primary = planes->planes[i];
      drmModeFreeProperty(p);
    }
    drmModeFreeObjectProperties(props);
  }
  drmModeFreePlaneResources(planes);
  uint32_t grey = solid_framebuffer(width, height, XR, 0xff404040);
  if (!primary || !grey || drmModeCreatePropertyBlob(card, &mode, sizeof mode, &blob)) return -1;
  drmModeAtomicReq *req = drmModeAtomicAlloc();
  drmModeAtomicAddProperty(req, connector, property_id(connector, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID"), crtc);
  drmModeAtomicAddProperty(req, crtc, property_id(crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID"), blob);
  drmModeAtomicAddProperty(req, crtc, property_id(crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE"), 1);
  const char *names[] = {"FB_ID", "CRTC_ID", "SRC_X", "SRC_Y", "SRC_W", "SRC_H", "CRTC_X", "CRTC_Y", "CRTC_W", "CRTC_H"};
  uint64_t values[] = {grey, crtc, 0, 0, (uint64_t)width << 16, (uint64_t)height << 16, 0, 0, (uint64_t)width, (uint64_t)height};
  for (int i = 0; i < 10; i++)
    drmModeAtomicAddProperty(req, primary, property_id(primary, DRM_MODE_OBJECT_PLANE, names[i]), values[i]);
  int ret = drmModeAtomicCommit(card, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL);
  drmModeAtomicFree(req);
  if (ret) perror("liftoff_scenes: modeset");
  return ret;
}

/* ---- one scene ---------------------------------------------------------------------- */
static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, by_value);
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int run(struct scene *sc, int frames) {
  static const uint32_t colours[] = {0xff3050a0, 0xffa03030, 0x8030a030, 0xff303090,
                                     0x80a0a030, 0xff30a0a0, 0x80a030a0, 0xff808080};
  uint32_t fbs[MAX_LAYERS][2] = {{0}};
  struct layer_state state[MAX_LAYERS], before[MAX_LAYERS];
  struct liftoff_layer *layers[MAX_LAYERS];
  for (int i = 0; i < sc->count; i++) {
    struct layer_def *d = &sc->layers[i];
    uint32_t colour = colours[i % 8] | (d->format == XR ? 0xff000000u : 0);
    int w = d->fb_w ? d->fb_w : d->w, h = d->fb_h ? d->fb_h : d->h;
    fbs[i][0] = solid_framebuffer(w, h, d->format, colour);
    fbs[i][1] = d->flips ? solid_framebuffer(w, h, d->format, colour ^ 0x00ffffff) : fbs[i][0];
    if (!fbs[i][0] || !fbs[i][1]) return -1;
  }
  struct liftoff_device *device = liftoff_device_create(dup(card));
  if (!device || liftoff_device_register_all_planes(device)) return -1;
  struct liftoff_output *output = liftoff_output_create(device, crtc);
  for (int i = 0; i < sc->count; i++) {
    struct layer_def *d = &sc->layers[i];
    layers[i] = liftoff_layer_create(output);
    liftoff_layer_set_property(layers[i], "zpos", (uint64_t)i);
    if (d->alpha) liftoff_layer_set_property(layers[i], "alpha", d->alpha);
    state[i] = (struct layer_state){d->x, d->y, d->w, d->h, true};
    memset(&before[i], 0xff, sizeof before[i]);
  }
  /* The composition layer: the compositor's canvas, fullscreen, used only when some
   * layer gets no plane. It carries the desktop's buffer; it is no scene layer. */
  struct liftoff_layer *canvas = liftoff_layer_create(output);
  const char *rect[] = {"zpos", "SRC_X", "SRC_Y", "SRC_W", "SRC_H", "CRTC_X", "CRTC_Y", "CRTC_W", "CRTC_H"};
  uint64_t full[] = {0, 0, 0, (uint64_t)width << 16, (uint64_t)height << 16, 0, 0, (uint64_t)width, (uint64_t)height};
  for (int i = 0; i < 9; i++) liftoff_layer_set_property(canvas, rect[i], full[i]);
  liftoff_output_set_composition_layer(output, canvas);

  double *cpu = calloc((size_t)frames, sizeof *cpu), *wall = calloc((size_t)frames, sizeof *wall);
  double visible = 0, on_planes = 0, composited = 0, steady_tests = 0;
  int on_min = MAX_LAYERS, on_max = 0, on_first = 0, committed = 0, apply_failed = 0;
  long first_tests = 0, steady_max = 0;
  double wall_first = 0;
  for (int f = 0; f < frames; f++) {
    sc->change(state, f);
    for (int i = 0; i < sc->count; i++) {
      struct liftoff_layer *l = layers[i];
      struct layer_state *s = &state[i], *b = &before[i];
      liftoff_layer_set_property(l, "FB_ID", s->visible ? fbs[i][f & 1] : 0);
      if (s->x != b->x) liftoff_layer_set_property(l, "CRTC_X", (uint64_t)(int64_t)s->x);
      if (s->y != b->y) liftoff_layer_set_property(l, "CRTC_Y", (uint64_t)(int64_t)s->y);
      if (s->w != b->w) {
        liftoff_layer_set_property(l, "CRTC_W", (uint64_t)s->w);
        liftoff_layer_set_property(l, "SRC_W", (uint64_t)s->w << 16);
      }
      if (s->h != b->h) {
        liftoff_layer_set_property(l, "CRTC_H", (uint64_t)s->h);
        liftoff_layer_set_property(l, "SRC_H", (uint64_t)s->h << 16);
      }
      if (f == 0) {
        liftoff_layer_set_property(l, "SRC_X", 0);
        liftoff_layer_set_property(l, "SRC_Y", 0);
      }
      *b = *s;
    }
    liftoff_layer_set_property(canvas, "FB_ID", fbs[0][f & 1]);

    drmModeAtomicReq *req = drmModeAtomicAlloc();
    long tests_before = test_commits;
    double w0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    int applied = liftoff_output_apply(output, req, 0);
    cpu[f] = (clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e3;
    wall[f] = (clock_ns(CLOCK_MONOTONIC) - w0) / 1e3;
    long tests = test_commits - tests_before;

    int shown = 0, placed = 0, mixed = 0;
    for (int i = 0; i < sc->count; i++) {
      if (!state[i].visible) continue;
      shown++;
      if (liftoff_layer_get_plane(layers[i])) placed++;
      else if (liftoff_layer_needs_composition(layers[i])) mixed++;
    }
    visible += shown;
    on_planes += placed;
    composited += mixed;
    on_min = placed < on_min ? placed : on_min;
    on_max = placed > on_max ? placed : on_max;
    if (f == 0) { first_tests = tests; on_first = placed; wall_first = wall[f]; }
    else { steady_tests += tests; steady_max = tests > steady_max ? tests : steady_max; }
    if (applied) apply_failed++;
    else if (drmModeAtomicCommit(card, req, 0, NULL) == 0) committed++;
    else fprintf(stderr, "%s frame %d: commit failed: %s\n", sc->id, f, strerror(errno));
    drmModeAtomicFree(req);
  }
  printf("| %s | %d | %.2f | %d | %.2f [%d-%d] | %.2f | %ld | %.2f [%ld] | %.0f | %.0f | %.0f | %d/%d |\n",
         sc->id, sc->count, visible / frames, on_first, on_planes / frames, on_min, on_max,
         composited / frames, first_tests, frames > 1 ? steady_tests / (frames - 1) : 0, steady_max,
         wall_first, median(wall, frames), median(cpu, frames), committed, frames);
  free(cpu);
  free(wall);
  for (int i = 0; i < sc->count; i++) liftoff_layer_destroy(layers[i]);
  liftoff_layer_destroy(canvas);
  liftoff_output_destroy(output);
  liftoff_device_destroy(device);
  for (int i = 0; i < sc->count; i++) {
    if (fbs[i][1] != fbs[i][0]) drmModeRmFB(card, fbs[i][1]);
    drmModeRmFB(card, fbs[i][0]);
  }
  return committed == frames && !apply_failed ? 0 : 1;
}

int main(int argc, char **argv) {
  int frames = 120;
  for (int opt; (opt = getopt(argc, argv, "n:")) != -1;)
    if (opt == 'n') frames = atoi(optarg);
  if (frames < 2 || frames > MAX_FRAMES) return 2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  liftoff_log_set_priority(LIFTOFF_ERROR);
  if (dlsym(RTLD_DEFAULT, "drmModeAtomicCommit") != (void *)drmModeAtomicCommit) {
    fprintf(stderr, "liftoff_scenes: libliftoff's commits would not be counted\n");
    return 3;
  }
  if (light_display()) return 1;
  printf("libliftoff on %dx%d@%d, crtc %u; %d frames a scene; times in µs\n", width, height, mode.vrefresh, crtc, frames);
  printf("| scene | layers | visible (mean) | on planes first | on planes mean [min-max] | composited mean "
         "| TEST_ONLY first | TEST_ONLY steady mean [max] | apply wall first | apply wall median "
         "| apply CPU median | commits ok |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  int failed = 0;
  for (size_t s = 0; s < sizeof scenes / sizeof scenes[0]; s++) {
    int r = run(&scenes[s], frames);
    if (r < 0) { fprintf(stderr, "liftoff_scenes: %s could not be set up\n", scenes[s].id); return 1; }
    failed |= r;
  }
  printf("total TEST_ONLY commits %ld\n", test_commits);
  return failed ? 4 : 0;
}
