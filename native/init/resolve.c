/*
 * Path resolution inside a root directory. Every path taken from config.json or found in the
 * rootfs is resolved with openat2(RESOLVE_IN_ROOT): ".." and absolute symlinks stop at the
 * root, so a symlink planted in an image (e.g. /dev -> /host/dir) cannot redirect a mount
 * onto the host. Magic links (/proc/self/fd/N) are refused for the same reason. Callers then
 * operate on the resulting O_PATH fd through /proc/self/fd/N.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

char *fd_path(int fd, char buf[64]) {
  snprintf(buf, 64, "/proc/self/fd/%d", fd);
  return buf;
}

static const char *rel(const char *path) {
  while (*path == '/') path++;
  return *path ? path : ".";
}

int open_in_root(int rootfd, const char *path, int flags) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd;
  do fd = (int)syscall(SYS_openat2, rootfd, rel(path), &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return fd;
}

/* Splits `path` into (parent, base); returns 0 or -1 (EINVAL) when there is no base. */
static int split(const char *path, char parent[PATH_MAX], const char **base) {
  size_t n = strlen(path);
  if (n >= PATH_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(parent, path, n + 1);
  while (n > 0 && parent[n - 1] == '/') parent[--n] = 0; /* trailing slashes */
  char *slash = strrchr(parent, '/');
  if (n == 0) {
    errno = EINVAL;
    return -1;
  }
  if (!slash) {
    *base = path + 0;
    /* base is the whole (slash-trimmed) string; keep it in `parent`'s storage past the NUL */
    memmove(parent + 2, parent, n + 1);
    parent[0] = '.';
    parent[1] = 0;
    *base = parent + 2;
    return 0;
  }
  *slash = 0;
  *base = slash + 1;
  if (parent[0] == 0) {
    /* "/x": parent is the root; move base out of the way first */
    memmove(parent + 2, slash + 1, strlen(slash + 1) + 1);
    parent[0] = '/';
    parent[1] = 0;
    *base = parent + 2;
  }
  return 0;
}

int open_parent_in_root(int rootfd, const char *path, const char **base) {
  static char parent[PATH_MAX + 4];
  if (split(path, parent, base) < 0) return -1;
  return mkdir_in_root(rootfd, parent, 0755);
}

/* `parent/base` is a dangling symlink: the path, relative to the root, that it points to
 * (an absolute target counts from the root, as RESOLVE_IN_ROOT reads it). */
static int dangling_target(int pfd, const char *parent, const char *base, char out[PATH_MAX]) {
  struct stat st;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode)) return -1;
  char target[PATH_MAX];
  ssize_t n = readlinkat(pfd, base, target, sizeof target - 1);
  if (n <= 0) return -1;
  target[n] = 0;
  int len = target[0] == '/' ? snprintf(out, PATH_MAX, "%s", target) : snprintf(out, PATH_MAX, "%s/%s", parent, target);
  return len >= PATH_MAX ? -1 : 0;
}

static int mkdir_in_root_depth(int rootfd, const char *path, mode_t mode, int depth);

/* Creates the missing target of a dangling symlink inside the root (e.g. an image's
 * /data -> /host/data gets /host/data created in the rootfs, never on the host). */
static int make_link_target(int rootfd, int pfd, const char *parent, const char *base, int dir, int depth) {
  char target[PATH_MAX];
  if (depth > 40) {
    errno = ELOOP;
    return -1;
  }
  if (dangling_target(pfd, parent, base, target) < 0) {
    errno = EEXIST;
    return -1;
  }
  if (dir) {
    int fd = mkdir_in_root_depth(rootfd, target, 0755, depth + 1);
    if (fd >= 0) close(fd);
    return fd < 0 ? -1 : 0;
  }
  int fd = create_file_in_root(rootfd, target);
  if (fd >= 0) close(fd);
  return fd < 0 ? -1 : 0;
}

static int mkdir_in_root_depth(int rootfd, const char *path, mode_t mode, int depth) {
  int fd = open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
  if (fd >= 0 || errno != ENOENT) return fd;
  char parent[PATH_MAX + 4];
  const char *base;
  if (split(path, parent, &base) < 0) return -1;
  int pfd = mkdir_in_root_depth(rootfd, parent, 0755, depth + 1);
  if (pfd < 0) return -1;
  if (mkdirat(pfd, base, mode) < 0) {
    int err = errno;
    /* EEXIST with ENOENT above: a dangling symlink; create its target inside the root */
    if (err != EEXIST || make_link_target(rootfd, pfd, parent, base, 1, depth) < 0) {
      if (err != EEXIST) errno = err;
      err = errno;
      close(pfd);
      errno = err;
      return -1;
    }
  }
  close(pfd);
  return open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
}

int mkdir_in_root(int rootfd, const char *path, mode_t mode) { return mkdir_in_root_depth(rootfd, path, mode, 0); }

int create_file_in_root(int rootfd, const char *path) {
  int fd = open_in_root(rootfd, path, O_PATH);
  if (fd >= 0 || errno != ENOENT) return fd;
  char parent[PATH_MAX + 4];
  const char *base;
  if (split(path, parent, &base) < 0) return -1;
  int pfd = mkdir_in_root(rootfd, parent, 0755);
  if (pfd < 0) return -1;
  int f = openat(pfd, base, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0644);
  int err = errno;
  if (f < 0 && err == EEXIST && make_link_target(rootfd, pfd, parent, base, 0, 1) < 0 && errno != EEXIST) err = errno;
  close(pfd);
  if (f < 0 && err != EEXIST) {
    errno = err;
    return -1;
  }
  if (f >= 0) close(f);
  return open_in_root(rootfd, path, O_PATH);
}
