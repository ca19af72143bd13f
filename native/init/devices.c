/*
 * Device nodes and the /dev symlinks. Nodes are made with mknodat in their parent directory
 * resolved inside the rootfs; where mknod is not permitted (a user namespace) the host's node
 * is bind-mounted onto an empty file instead, as runc does.
 */
#include "init.h"
#include "mountapi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void bind_host_node(struct init_ctx *ctx, const struct plan_device *d) {
  int src = open(d->path, O_PATH | O_CLOEXEC); /* the host's node at the same path */
  if (src < 0) fail("devices", "%s: mknod is not permitted and the host has no such node to bind", d->path);
  int dst = create_file_in_root(ctx->rootfd, d->path);
  if (dst < 0) fail("devices", "%s: create the bind target", d->path);
  int tree = b_open_tree(src, "", B_OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0) fail("devices", "%s: clone the host node", d->path);
  if (b_move_mount(tree, "", dst, "", B_MOVE_MOUNT_F_EMPTY_PATH | B_MOVE_MOUNT_T_EMPTY_PATH) < 0)
    fail("devices", "%s: bind the host node", d->path);
  close(tree);
  close(dst);
  close(src);
}

static void make_device(struct init_ctx *ctx, const struct plan_device *d) {
  const char *base;
  int parent = open_parent_in_root(ctx->rootfd, d->path, &base);
  if (parent < 0) fail("devices", "%s: create the parent directory", d->path);
  /* replace whatever the image put there (an image could ship a /dev/null that is a file) */
  if (unlinkat(parent, base, 0) < 0 && errno != ENOENT && errno != EISDIR) fail("devices", "%s: remove the old entry", d->path);
  mode_t old = umask(0);
  int r = mknodat(parent, base, (mode_t)(d->type | (d->mode & 07777)), makedev(d->major, d->minor));
  umask(old);
  if (r < 0) {
    if (errno == EPERM && d->type != S_IFIFO) {
      close(parent);
      bind_host_node(ctx, d);
      return;
    }
    fail("devices", "%s: mknod %u:%u", d->path, d->major, d->minor);
  }
  if (fchownat(parent, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0) fail("devices", "%s: chown %u:%u", d->path, d->uid, d->gid);
  close(parent);
}

static void symlink_in_dev(int devfd, const char *target, const char *name) {
  if (symlinkat(target, devfd, name) < 0 && errno != EEXIST) fail("devices", "symlink /dev/%s -> %s", name, target);
}

void make_devices(struct init_ctx *ctx) {
  struct plan *p = &ctx->plan;
  for (int i = 0; i < p->ndevices; i++) make_device(ctx, &p->devices[i]);
  int dev = mkdir_in_root(ctx->rootfd, "/dev", 0755);
  if (dev < 0) fail("devices", "create /dev");
  symlink_in_dev(dev, "/proc/self/fd", "fd");
  symlink_in_dev(dev, "/proc/self/fd/0", "stdin");
  symlink_in_dev(dev, "/proc/self/fd/1", "stdout");
  symlink_in_dev(dev, "/proc/self/fd/2", "stderr");
  /* /dev/ptmx -> the container's devpts instance (an existing node is left alone: /dev may be
   * a bind mount of the host's, which must not be modified) */
  symlink_in_dev(dev, "pts/ptmx", "ptmx");
  if (ctx->proc_mounted) symlink_in_dev(dev, "/proc/kcore", "core");
  close(dev);
}
