/* Error reporting and framing on the sync channel. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int sync_fd = -1;

void set_sync_fd(int fd) { sync_fd = fd; }

const char *errno_name(int err) {
  switch (err) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF) E(ECHILD)
    E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR)
    E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE)
    E(EROFS) E(EMLINK) E(EPIPE) E(ERANGE) E(ENAMETOOLONG) E(ENOSYS) E(ENOTEMPTY) E(ELOOP)
    E(ENOTSUP) E(ECONNREFUSED) E(ETIMEDOUT) E(EOVERFLOW) E(EUSERS) E(ENOTSOCK) E(ECONNRESET)
#undef E
  default: return "E?";
  }
}

void *xmalloc(size_t n) {
  void *p = calloc(1, n ? n : 1);
  if (!p) failx("alloc", "out of memory (%zu bytes)", n);
  return p;
}

int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int read_all(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) {
      errno = ECONNRESET;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

void send_frame(int fd, uint32_t type, const void *data, uint32_t len) {
  uint8_t hdr[8];
  /* little-endian on the wire; every Linux target Berth supports is little-endian */
  memcpy(hdr, &type, 4);
  memcpy(hdr + 4, &len, 4);
  if (write_all(fd, hdr, 8) < 0 || (len && write_all(fd, data, len) < 0)) {
    int err = errno;
    /* cannot report over the channel itself: say it on stderr and give up */
    dprintf(2, "berth-init: sync channel: write: %s (%s)\n", strerror(err), errno_name(err));
    _exit(1);
  }
}

void *recv_frame(int fd, uint32_t expect, uint32_t *len) {
  uint32_t hdr[2];
  if (read_all(fd, hdr, 8) < 0) {
    /* Node went away (it was killed, or gave up on us): nothing to report to */
    _exit(1);
  }
  if (hdr[0] != expect) failx("sync", "expected frame %u, got %u", expect, hdr[0]);
  if (hdr[1] > (64u << 20)) failx("sync", "frame %u too large (%u bytes)", hdr[0], hdr[1]);
  char *buf = xmalloc((size_t)hdr[1] + 1);
  if (hdr[1] && read_all(fd, buf, hdr[1]) < 0) _exit(1);
  buf[hdr[1]] = 0;
  if (len) *len = hdr[1];
  return buf;
}

static void vreport(const char *step, int err, const char *fmt, va_list ap) {
  char msg[2048];
  int n = snprintf(msg, sizeof msg, "%s: ", step);
  if (n < 0 || n >= (int)sizeof msg) n = 0;
  int m = vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  if (m > 0) n += m;
  if (n >= (int)sizeof msg) n = sizeof msg - 1;
  if (err) {
    int k = snprintf(msg + n, sizeof msg - (size_t)n, ": %s (%s)", strerror(err), errno_name(err));
    if (k > 0) n += k;
    if (n >= (int)sizeof msg) n = sizeof msg - 1;
  }
  if (sync_fd >= 0) {
    uint32_t hdr[2] = {FRAME_ERROR, (uint32_t)n};
    if (write_all(sync_fd, hdr, 8) == 0 && write_all(sync_fd, msg, (size_t)n) == 0) return;
  }
  dprintf(2, "berth-init: %s\n", msg);
}

void fail(const char *step, const char *fmt, ...) {
  int err = errno;
  va_list ap;
  va_start(ap, fmt);
  vreport(step, err, fmt, ap);
  va_end(ap);
  _exit(1);
}

void failx(const char *step, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(step, 0, fmt, ap);
  va_end(ap);
  _exit(1);
}

int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = strlen(data);
  ssize_t n = write(fd, data, len);
  int err = errno;
  close(fd);
  if (n < 0) {
    errno = err;
    return -1;
  }
  if ((size_t)n != len) {
    errno = EIO;
    return -1;
  }
  return 0;
}
