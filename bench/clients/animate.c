/* animate: a window that redraws every pixel on every frame callback, for measuring
 * what a compositor spends on a busy client. Three wl_shm buffers, so it never waits
 * for one the compositor still reads.
 *
 *   animate [-w WIDTH] [-h HEIGHT] [-d SECONDS]
 *
 * Prints, when the time is up (or on SIGINT/SIGTERM):
 *   frames: N   fps: F (from the first frame on)   configure_ms: until the first configure */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client.h>
#include "xdg-shell-client-protocol.h"

enum { BUFFERS = 3 };
struct buffer {
  struct wl_buffer *wl;
  uint32_t *pixels;
  int held; /* attached and not yet released by the compositor */
};

static struct wl_compositor *compositor;
static struct wl_shm *shm;
static struct xdg_wm_base *wm_base;
static struct wl_surface *surface;
static struct buffer buffers[BUFFERS];
static int width = 256, height = 256, configured, closed;
static long frames;
static double started, first_frame, first_configure;
static volatile sig_atomic_t interrupted;

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
static void on_signal(int sig) { (void)sig; interrupted = 1; }

static void released(void *data, struct wl_buffer *wl) { (void)wl; ((struct buffer *)data)->held = 0; }
static const struct wl_buffer_listener buffer_listener = {released};

static void make_buffers(void) {
  size_t stride = (size_t)width * 4, size = stride * (size_t)height;
  int fd = memfd_create("animate", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, (off_t)(size * BUFFERS)) < 0) { perror("animate: memfd"); exit(1); }
  uint8_t *map = mmap(NULL, size * BUFFERS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) { perror("animate: mmap"); exit(1); }
  struct wl_shm_pool *pool = wl_shm_create_pool(shm, fd, (int32_t)(size * BUFFERS));
  for (int i = 0; i < BUFFERS; i++) {
    buffers[i].wl = wl_shm_pool_create_buffer(pool, (int32_t)(i * size), width, height,
                                              (int32_t)stride, WL_SHM_FORMAT_XRGB8888);
    buffers[i].pixels = (uint32_t *)(map + i * size);
    wl_buffer_add_listener(buffers[i].wl, &buffer_listener, &buffers[i]);
  }
  wl_shm_pool_destroy(pool);
  close(fd);
}

/* Diagonal colour bands that move each frame: no pixel keeps its value. */
static void paint(uint32_t *pixels, long n) {
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      pixels[(size_t)y * width + x] = 0xff000000u | (uint32_t)((x + 2 * n) & 0xff) << 16 |
                                      (uint32_t)((y + n) & 0xff) << 8 | (uint32_t)(n & 0xff);
}

static void draw(void);
static void frame_done(void *data, struct wl_callback *cb, uint32_t ms) {
  (void)data; (void)ms;
  wl_callback_destroy(cb);
  frames++;
  draw();
}
static const struct wl_callback_listener frame_listener = {frame_done};

static void draw(void) {
  struct buffer *b = &buffers[frames % BUFFERS];
  for (int i = 0; i < BUFFERS; i++)
    if (!buffers[i].held) { b = &buffers[i]; break; }
  paint(b->pixels, frames);
  wl_surface_attach(surface, b->wl, 0, 0);
  wl_surface_damage_buffer(surface, 0, 0, width, height);
  wl_callback_add_listener(wl_surface_frame(surface), &frame_listener, NULL);
  wl_surface_commit(surface);
  b->held = 1;
}

static void ping(void *data, struct xdg_wm_base *base, uint32_t serial) { (void)data; xdg_wm_base_pong(base, serial); }
static const struct xdg_wm_base_listener wm_base_listener = {ping};
static void surface_configure(void *data, struct xdg_surface *xdg, uint32_t serial) {
  (void)data;
  xdg_surface_ack_configure(xdg, serial);
  if (configured) return;
  configured = 1;
  first_configure = seconds();
  draw();
  first_frame = seconds();
}
static const struct xdg_surface_listener surface_listener = {surface_configure};
static void toplevel_configure(void *d, struct xdg_toplevel *t, int32_t w, int32_t h, struct wl_array *s) {
  (void)d; (void)t; (void)w; (void)h; (void)s;
}
static void toplevel_close(void *d, struct xdg_toplevel *t) { (void)d; (void)t; closed = 1; }
static const struct xdg_toplevel_listener toplevel_listener = {toplevel_configure, toplevel_close};

static void global(void *d, struct wl_registry *reg, uint32_t name, const char *iface, uint32_t version) {
  (void)d;
  if (strcmp(iface, wl_compositor_interface.name) == 0)
    compositor = wl_registry_bind(reg, name, &wl_compositor_interface, version < 4 ? version : 4);
  else if (strcmp(iface, wl_shm_interface.name) == 0)
    shm = wl_registry_bind(reg, name, &wl_shm_interface, 1);
  else if (strcmp(iface, xdg_wm_base_interface.name) == 0) {
    wm_base = wl_registry_bind(reg, name, &xdg_wm_base_interface, 1);
    xdg_wm_base_add_listener(wm_base, &wm_base_listener, NULL);
  }
}
static void global_remove(void *d, struct wl_registry *r, uint32_t name) { (void)d; (void)r; (void)name; }
static const struct wl_registry_listener registry_listener = {global, global_remove};

int main(int argc, char **argv) {
  double duration = 10;
  for (int opt; (opt = getopt(argc, argv, "w:h:d:")) != -1;) {
    if (opt == 'w') width = atoi(optarg);
    else if (opt == 'h') height = atoi(optarg);
    else if (opt == 'd') duration = atof(optarg);
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  started = seconds();
  struct wl_display *display = wl_display_connect(NULL);
  if (!display) { fprintf(stderr, "animate: no Wayland display\n"); return 1; }
  struct wl_registry *registry = wl_display_get_registry(display);
  wl_registry_add_listener(registry, &registry_listener, NULL);
  wl_display_roundtrip(display);
  if (!compositor || !shm || !wm_base) { fprintf(stderr, "animate: globals missing\n"); return 1; }
  make_buffers();
  surface = wl_compositor_create_surface(compositor);
  struct xdg_surface *xdg = xdg_wm_base_get_xdg_surface(wm_base, surface);
  xdg_surface_add_listener(xdg, &surface_listener, NULL);
  struct xdg_toplevel *toplevel = xdg_surface_get_toplevel(xdg);
  xdg_toplevel_add_listener(toplevel, &toplevel_listener, NULL);
  xdg_toplevel_set_title(toplevel, "animate");
  xdg_toplevel_set_app_id(toplevel, "animate");
  wl_surface_commit(surface);
  while (!closed && !interrupted && seconds() < started + duration) {
    wl_display_flush(display);
    if (wl_display_dispatch(display) < 0) {
      if (errno != EINTR) fprintf(stderr, "animate: %s\n", strerror(errno));
      break;
    }
  }
  double span = configured ? seconds() - first_frame : 0;
  printf("frames: %ld\nfps: %.2f\nconfigure_ms: %.2f\n", frames, span > 0 ? frames / span : 0.0,
         configured ? (first_configure - started) * 1e3 : -1.0);
  wl_display_disconnect(display);
  return 0;
}
