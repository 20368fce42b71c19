/* wl_ready: how long a compositor takes to start.
 *
 *   wl_ready LAUNCH_NS [TIMEOUT_MS]
 *
 * LAUNCH_NS is the wall-clock time (date +%s%N) at which the compositor was started.
 * Looks for $XDG_RUNTIME_DIR/$WAYLAND_DISPLAY every millisecond (WAYLAND_DISPLAY unset or
 * "auto": the first wayland-N socket to appear, as wlroots names them), then connects
 * and sends wl_display.sync until the callback comes back. Prints
 *   socket: NAME      socket_ms: time until the socket existed
 *   ready_ms: time until a client's first round trip was answered
 * Speaks the wire format itself so that no client library's start-up is measured. */
#define _GNU_SOURCE
#include <dirent.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long wall_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* One connection, one wl_display.sync; 0 when wl_callback.done arrived in time. */
static int round_trip(const char *path, long long deadline) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) goto fail;
  /* object 1 (wl_display), 12 bytes, opcode 0 (sync), new callback id 2 */
  uint32_t sync[3] = {1, 12u << 16, 2};
  if (write(fd, sync, sizeof sync) != (ssize_t)sizeof sync) goto fail;
  unsigned char in[8192];
  size_t held = 0;
  for (;;) {
    int left_ms = (int)((deadline - wall_ns()) / 1000000LL);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (left_ms <= 0 || poll(&p, 1, left_ms) <= 0) goto fail;
    ssize_t got = read(fd, in + held, sizeof in - held);
    if (got <= 0) goto fail;
    held += (size_t)got;
    size_t at = 0;
    while (held - at >= 8) {
      uint32_t object, size_opcode;
      memcpy(&object, in + at, 4);
      memcpy(&size_opcode, in + at + 4, 4);
      uint32_t size = size_opcode >> 16, opcode = size_opcode & 0xffff;
      if (size < 8 || held - at < size) break;
      if (object == 2 && opcode == 0) { close(fd); return 0; } /* wl_callback.done */
      if (object == 1 && opcode == 0) goto fail;               /* wl_display.error */
      at += size;
    }
    memmove(in, in + at, held - at);
    held -= at;
  }
fail:
  if (fd >= 0) close(fd);
  return -1;
}

static int find_socket(const char *runtime, const char *name, char *path, size_t len) {
  struct stat st;
  if (name && *name && strcmp(name, "auto") != 0) {
    if (name[0] == '/') snprintf(path, len, "%s", name);
    else snprintf(path, len, "%s/%s", runtime, name);
    return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
  }
  DIR *dir = opendir(runtime);
  struct dirent *e;
  int found = 0;
  while (dir && !found && (e = readdir(dir))) {
    if (strncmp(e->d_name, "wayland-", 8) != 0 || strchr(e->d_name, '.')) continue;
    snprintf(path, len, "%s/%s", runtime, e->d_name);
    found = stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
  }
  if (dir) closedir(dir);
  return found;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: wl_ready LAUNCH_NS [TIMEOUT_MS]\n");
    return 2;
  }
  long long launched = atoll(argv[1]);
  long long deadline = wall_ns() + (argc > 2 ? atoll(argv[2]) : 10000) * 1000000LL;
  const char *runtime = getenv("XDG_RUNTIME_DIR");
  if (!runtime) {
    fprintf(stderr, "wl_ready: XDG_RUNTIME_DIR is not set\n");
    return 2;
  }
  char path[512];
  while (!find_socket(runtime, getenv("WAYLAND_DISPLAY"), path, sizeof path)) {
    if (wall_ns() > deadline) return 1;
    usleep(1000);
  }
  double socket_ms = (wall_ns() - launched) / 1e6;
  while (round_trip(path, deadline) != 0) {
    if (wall_ns() > deadline) return 1;
    usleep(1000);
  }
  double ready_ms = (wall_ns() - launched) / 1e6;
  const char *base = strrchr(path, '/');
  printf("socket: %s\nsocket_ms: %.2f\nready_ms: %.2f\n", base ? base + 1 : path, socket_ms, ready_ms);
  return 0;
}
