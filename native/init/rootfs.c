/*
 * The root filesystem: propagation, the rootfs bind mount, pivot_root (or MS_MOVE + chroot),
 * masked and read-only paths and the read-only root. Everything after the pivot works on fds
 * (open_tree/move_mount/mount_setattr/fsmount) so it neither depends on the container mounting
 * /proc nor follows a symlink out of the root.
 */
#include "init.h"
#include "mountapi.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* pivot_root needs the new root's parent mount not to be shared: with a shared rootfs
 * propagation, make the mount holding the rootfs private (as runc does). */
static void make_parent_private(const char *rootfs) {
  char real[PATH_MAX];
  if (!realpath(rootfs, real)) fail("rootfs", "realpath %s", rootfs);
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) fail("rootfs", "open /proc/self/mountinfo");
  char line[4096], best[PATH_MAX] = "/";
  size_t bestlen = 1;
  while (fgets(line, sizeof line, f)) {
    char mp[PATH_MAX];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1) continue;
    size_t n = strlen(mp);
    if (n > bestlen && strncmp(real, mp, n) == 0 && (real[n] == '/' || real[n] == 0)) {
      strcpy(best, mp);
      bestlen = n;
    }
  }
  fclose(f);
  if (mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0) fail("rootfs", "make %s private", best);
}

void prepare_root(struct init_ctx *ctx) {
  struct plan *p = &ctx->plan;
  uint32_t prop = p->rootfs_propagation ? p->rootfs_propagation : (MS_SLAVE | MS_REC);
  /* Our mount namespace is a copy of the host's: stop mount events from flowing back to it
   * (rslave by default) before we mount anything. */
  if (mount(NULL, "/", NULL, prop, NULL) < 0) fail("rootfs", "set propagation 0x%x on /", prop);
  if (prop & MS_SHARED) make_parent_private(p->rootfs);
  if (mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) fail("rootfs", "bind %s onto itself", p->rootfs);
  ctx->rootfd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ctx->rootfd < 0) fail("rootfs", "open %s", p->rootfs);
}

/* Decodes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_mountinfo(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
      *w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
      r += 3;
    } else {
      *w++ = *r;
    }
  }
  *w = 0;
}

/* --no-pivot leaves the host's mounts in our mount namespace, only out of the chroot's reach.
 * The kernel lets a user namespace mount a new proc or sysfs when one of that type is fully
 * visible anywhere in the mount namespace, and the host's are (the container's own have masked
 * paths over them): a process that makes its own user namespace could then mount an unmasked
 * /proc (sysrq-trigger & co.). As runc does, detach every whole proc and sysfs outside the
 * rootfs before the move (made slaves first so the host keeps its own), or cover it with a
 * tmpfs where detaching is refused. */
static void hide_host_proc_sysfs(const char *rootfs) {
  char real[PATH_MAX];
  if (!realpath(rootfs, real)) fail("no-pivot", "realpath %s", rootfs);
  size_t rlen = strlen(real);
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) fail("no-pivot", "open /proc/self/mountinfo");
  char line[8192];
  char **targets = NULL;
  size_t n = 0;
  while (fgets(line, sizeof line, f)) {
    char root[PATH_MAX], mp[PATH_MAX], fstype[64];
    char *sep = strstr(line, " - ");
    if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) != 2 || sscanf(sep + 3, "%63s", fstype) != 1) continue;
    if (strcmp(root, "/") != 0 || (strcmp(fstype, "proc") != 0 && strcmp(fstype, "sysfs") != 0)) continue;
    unescape_mountinfo(mp);
    if (!strncmp(mp, real, rlen) && (mp[rlen] == '/' || mp[rlen] == 0)) continue; /* the container's own */
    targets = realloc(targets, sizeof(char *) * (n + 1));
    if (!targets || !(targets[n] = strdup(mp))) failx("no-pivot", "out of memory");
    n++;
  }
  fclose(f);
  for (size_t i = 0; i < n; i++) {
    if (mount(NULL, targets[i], NULL, MS_SLAVE | MS_REC, NULL) < 0) {
      if (errno == ENOENT || errno == EINVAL) continue; /* already gone with a parent */
      fail("no-pivot", "make %s a slave", targets[i]);
    }
    if (umount2(targets[i], MNT_DETACH) < 0) {
      if (errno != EINVAL && errno != EPERM) fail("no-pivot", "detach %s", targets[i]);
      if (mount("tmpfs", targets[i], "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0) fail("no-pivot", "cover %s", targets[i]);
    }
    free(targets[i]);
  }
  free(targets);
}

void switch_root(struct init_ctx *ctx) {
  if (ctx->plan.flags & PF_NO_PIVOT) hide_host_proc_sysfs(ctx->plan.rootfs);
  if (fchdir(ctx->rootfd) < 0) fail("pivot_root", "chdir to the rootfs");
  if (ctx->plan.flags & PF_NO_PIVOT) {
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) fail("no-pivot", "move the rootfs onto /");
    if (chroot(".") < 0) fail("no-pivot", "chroot");
  } else {
    int oldroot = open("/", O_DIRECTORY | O_PATH | O_CLOEXEC);
    if (oldroot < 0) fail("pivot_root", "open /");
    /* pivot_root(".", ".") stacks the old root on top of the new one; we then detach it
     * (after making it a slave, so the unmount does not propagate to the host). */
    if (syscall(SYS_pivot_root, ".", ".") < 0) fail("pivot_root", "pivot_root(%s)", ctx->plan.rootfs);
    if (fchdir(oldroot) < 0) fail("pivot_root", "chdir to the old root");
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) fail("pivot_root", "make the old root rslave");
    if (umount2(".", MNT_DETACH) < 0) fail("pivot_root", "detach the old root");
    close(oldroot);
  }
  if (chdir("/") < 0) fail("pivot_root", "chdir /");
  close(ctx->rootfd);
  ctx->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ctx->rootfd < 0) fail("pivot_root", "open the new /");
}

static int container_dev_null(int rootfd) {
  int fd = open_in_root(rootfd, "/dev/null", O_PATH);
  if (fd < 0) fail("maskedPaths", "open the container's /dev/null");
  struct stat st;
  if (fstat(fd, &st) < 0) fail("maskedPaths", "stat /dev/null");
  if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
    failx("maskedPaths", "the container's /dev/null is not the null device (char 1:3); refusing to mask with it");
  return fd;
}

static void mask_dir(int target, const char *path) {
  int fs = b_fsopen("tmpfs", 1 /* FSOPEN_CLOEXEC */);
  if (fs < 0) fail("maskedPaths", "fsopen tmpfs for %s", path);
  if (b_fsconfig(fs, B_FSCONFIG_SET_STRING, "size", "0", 0) < 0) fail("maskedPaths", "tmpfs size for %s", path);
  if (b_fsconfig(fs, B_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) fail("maskedPaths", "create tmpfs for %s", path);
  int mnt = b_fsmount(fs, B_FSMOUNT_CLOEXEC, B_MOUNT_ATTR_RDONLY | B_MOUNT_ATTR_NOSUID | B_MOUNT_ATTR_NODEV | B_MOUNT_ATTR_NOEXEC);
  if (mnt < 0) fail("maskedPaths", "fsmount tmpfs for %s", path);
  if (b_move_mount(mnt, "", target, "", B_MOVE_MOUNT_F_EMPTY_PATH | B_MOVE_MOUNT_T_EMPTY_PATH) < 0)
    fail("maskedPaths", "mount a read-only tmpfs on %s", path);
  close(mnt);
  close(fs);
}

static void bind_fd_onto(int src, int target, const char *step, const char *path) {
  int tree = b_open_tree(src, "", B_OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0) fail(step, "open_tree for %s", path);
  if (b_move_mount(tree, "", target, "", B_MOVE_MOUNT_F_EMPTY_PATH | B_MOVE_MOUNT_T_EMPTY_PATH) < 0)
    fail(step, "bind onto %s", path);
  close(tree);
}

void masked_and_readonly_paths(struct init_ctx *ctx) {
  struct plan *p = &ctx->plan;
  int devnull = -1;
  for (int i = 0; i < p->nmasked; i++) {
    /* symlinks are followed, but only inside the root: a masked symlink masks its target */
    int fd = open_in_root(ctx->rootfd, p->masked[i], O_PATH);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      fail("maskedPaths", "resolve %s", p->masked[i]);
    }
    struct stat st;
    if (fstat(fd, &st) < 0) fail("maskedPaths", "stat %s", p->masked[i]);
    if (S_ISDIR(st.st_mode)) {
      mask_dir(fd, p->masked[i]);
    } else {
      if (devnull < 0) devnull = container_dev_null(ctx->rootfd);
      bind_fd_onto(devnull, fd, "maskedPaths", p->masked[i]);
    }
    close(fd);
  }
  if (devnull >= 0) close(devnull);

  for (int i = 0; i < p->nreadonly; i++) {
    int fd = open_in_root(ctx->rootfd, p->readonly[i], O_PATH);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      fail("readonlyPaths", "resolve %s", p->readonly[i]);
    }
    int tree = b_open_tree(fd, "", B_OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
    if (tree < 0) fail("readonlyPaths", "open_tree %s", p->readonly[i]);
    struct b_mount_attr a = {.attr_set = B_MOUNT_ATTR_RDONLY | B_MOUNT_ATTR_NOSUID | B_MOUNT_ATTR_NODEV | B_MOUNT_ATTR_NOEXEC};
    if (b_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a) < 0) fail("readonlyPaths", "make %s read-only", p->readonly[i]);
    if (b_move_mount(tree, "", fd, "", B_MOVE_MOUNT_F_EMPTY_PATH | B_MOVE_MOUNT_T_EMPTY_PATH) < 0)
      fail("readonlyPaths", "mount %s read-only", p->readonly[i]);
    close(tree);
    close(fd);
  }
}

void remount_root_readonly(struct init_ctx *ctx) {
  /* mount_setattr changes only the bits asked for, so flags the kernel locked on the mount
   * (nosuid/nodev in a user namespace) are kept without having to be read back first. */
  struct b_mount_attr a = {.attr_set = B_MOUNT_ATTR_RDONLY};
  if (b_mount_setattr(ctx->rootfd, "", AT_EMPTY_PATH, &a) < 0) fail("root.readonly", "remount / read-only");
}
