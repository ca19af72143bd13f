/*
 * The copy behind the "tmpcopyup" mount option (a runc extension that podman asks for on its
 * --tmpfs mounts and on the tmpfs mounts of --read-only): a new tmpfs starts with a copy of
 * what the image has at the destination. mounts.c creates the tmpfs detached and calls
 * copy_tree() before attaching it, so no container process ever sees it half filled.
 *
 * Everything is relative to directory fds and opened with O_NOFOLLOW; symlinks are copied as
 * links, never followed, so nothing planted in the image can make the copy read or write
 * outside the rootfs. Ownership is kept where the ids are mapped (a chown that the user
 * namespace refuses is not an error: runc does not keep ownership at all).
 */
#include "init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPYUP_MAX_DEPTH 128

/* One buffer for every file: berth-init is single-threaded and C runs on a 1 MiB stack. */
static char copy_buf[64 * 1024];

static void keep_owner(int fd, const char *name, const struct stat *st, int flags) {
  /* EPERM/EINVAL: an id the container's user namespace does not map; leave it to us */
  if (fchownat(fd, name, st->st_uid, st->st_gid, flags) < 0 && errno != EPERM && errno != EINVAL)
    fail("tmpcopyup", "chown %s", *name ? name : ".");
}

static void copy_file(int sdir, int ddir, const char *name, const struct stat *st, const char *dest) {
  int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) fail("tmpcopyup", "%s: open %s", dest, name);
  int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0) fail("tmpcopyup", "%s: create %s", dest, name);
  for (;;) {
    ssize_t n = read(in, copy_buf, sizeof copy_buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("tmpcopyup", "%s: read %s", dest, name);
    if (n == 0) break;
    if (write_all(out, copy_buf, (size_t)n) < 0) fail("tmpcopyup", "%s: write %s", dest, name);
  }
  keep_owner(out, "", st, AT_EMPTY_PATH);
  /* after the chown, which clears set-id bits */
  if (fchmod(out, st->st_mode & 07777) < 0) fail("tmpcopyup", "%s: chmod %s", dest, name);
  close(out);
  close(in);
}

static void copy_dir(int sdir, int ddir, const char *dest, int depth) {
  if (depth > COPYUP_MAX_DEPTH) {
    errno = ELOOP;
    fail("tmpcopyup", "%s: directories nested deeper than %d", dest, COPYUP_MAX_DEPTH);
  }
  int lfd = openat(sdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lfd < 0) fail("tmpcopyup", "%s: open directory", dest);
  DIR *d = fdopendir(lfd);
  if (!d) fail("tmpcopyup", "%s: read directory", dest);
  struct dirent *e;
  while ((errno = 0, e = readdir(d))) {
    const char *name = e->d_name;
    if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
    struct stat st;
    if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) fail("tmpcopyup", "%s: stat %s", dest, name);
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(ddir, name, 0700) < 0) fail("tmpcopyup", "%s: mkdir %s", dest, name);
      int s = openat(sdir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int t = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0 || t < 0) fail("tmpcopyup", "%s: open %s", dest, name);
      copy_dir(s, t, dest, depth + 1);
      keep_owner(t, "", &st, AT_EMPTY_PATH);
      if (fchmod(t, st.st_mode & 07777) < 0) fail("tmpcopyup", "%s: chmod %s", dest, name);
      close(t);
      close(s);
    } else if (S_ISREG(st.st_mode)) {
      copy_file(sdir, ddir, name, &st, dest);
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(sdir, name, target, sizeof target - 1);
      if (n < 0) fail("tmpcopyup", "%s: readlink %s", dest, name);
      target[n] = 0;
      if (symlinkat(target, ddir, name) < 0) fail("tmpcopyup", "%s: symlink %s", dest, name);
      keep_owner(ddir, name, &st, AT_SYMLINK_NOFOLLOW);
    } else {
      /* fifos, sockets, device nodes; a device node that the user namespace may not make is
       * left out, as the container could not have made it either */
      if (mknodat(ddir, name, st.st_mode, st.st_rdev) < 0) {
        if (errno == EPERM && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) continue;
        fail("tmpcopyup", "%s: mknod %s", dest, name);
      }
      keep_owner(ddir, name, &st, AT_SYMLINK_NOFOLLOW);
      if (fchmodat(ddir, name, st.st_mode & 07777, 0) < 0) fail("tmpcopyup", "%s: chmod %s", dest, name);
    }
  }
  if (errno) fail("tmpcopyup", "%s: read directory", dest);
  closedir(d);
}

void copy_tree(int src_dir, int dst_dir, const char *dest, int root_owner, int root_mode) {
  copy_dir(src_dir, dst_dir, dest, 0);
  if (!root_owner && !root_mode) return;
  /* the tmpfs root takes the image directory's owner and mode too (as with runc: /run stays
   * 0755 rather than tmpfs's 1777), unless the mount options chose them */
  struct stat st;
  if (fstat(src_dir, &st) < 0) fail("tmpcopyup", "%s: stat the image's directory", dest);
  int t = openat(dst_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (t < 0) fail("tmpcopyup", "%s: open the tmpfs root", dest);
  if (root_owner) keep_owner(t, "", &st, AT_EMPTY_PATH);
  if (root_mode && fchmod(t, st.st_mode & 07777) < 0) fail("tmpcopyup", "%s: chmod the tmpfs root", dest);
  close(t);
}
