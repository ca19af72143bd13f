/*
 * The OCI `mounts` array, performed in order before pivot_root. Destinations are resolved
 * inside the rootfs (resolve.c) and mounted onto through /proc/self/fd/N (the host's /proc is
 * still our /proc here), so a symlink in the image cannot send a mount to the host. Bind
 * mounts are made detached (open_tree), given their attributes (ro, nosuid, idmap, ...) with
 * mount_setattr, and then attached: no window where a writable bind is visible, and flags the
 * kernel locked on the source are left alone instead of being cleared by a remount.
 * Mounts of type cgroup are cgroup-mounts.c's, the id mappings of a bind idmap.c's.
 */
#include "init.h"
#include "mountapi.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h> /* CLONE_NEWUSER */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* MS_* flags that become per-mount attributes of a detached mount (binds, cgroup binds). */
uint64_t attrs_of(uint32_t flags, uint64_t *clr) {
  uint64_t set = 0;
  if (flags & MS_RDONLY) set |= B_MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) set |= B_MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) set |= B_MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) set |= B_MOUNT_ATTR_NOEXEC;
  if (flags & MS_NODIRATIME) set |= B_MOUNT_ATTR_NODIRATIME;
  if (flags & MS_NOSYMFOLLOW) set |= B_MOUNT_ATTR_NOSYMFOLLOW;
  if (flags & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME)) {
    *clr |= B_MOUNT_ATTR__ATIME;
    if (flags & MS_NOATIME) set |= B_MOUNT_ATTR_NOATIME;
    else if (flags & MS_STRICTATIME) set |= B_MOUNT_ATTR_STRICTATIME;
  }
  return set;
}

static void apply_propagation_and_attrs(struct init_ctx *ctx, struct plan_mount *m) {
  if (!m->npropagation && !m->attr_set && !m->attr_clr) return;
  int fd = open_in_root(ctx->rootfd, m->dest, O_PATH);
  if (fd < 0) fail("mount", "reopen %s", m->dest);
  for (int i = 0; i < m->npropagation; i++) {
    struct b_mount_attr a = {.propagation = m->propagation[i] & ~(uint32_t)MS_REC};
    unsigned at = AT_EMPTY_PATH | ((m->propagation[i] & MS_REC) ? AT_RECURSIVE : 0);
    if (b_mount_setattr(fd, "", at, &a) < 0) fail("mount", "%s: set propagation 0x%x", m->dest, m->propagation[i]);
  }
  if (m->attr_set || m->attr_clr) {
    struct b_mount_attr a = {.attr_set = m->attr_set, .attr_clr = m->attr_clr};
    if (b_mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a) < 0) fail("mount", "%s: set recursive attributes", m->dest);
  }
  close(fd);
}

/* In P, before clone: a detached copy of the source tree, made with the caller's rights. A
 * failure is left for C to report (it fails the same way, naming the mount). */
void clone_bind_source(struct plan_mount *m) {
  if (!m->source) return;
  unsigned rec = (m->flags & MS_REC) ? AT_RECURSIVE : 0;
  m->src_tree_fd = b_open_tree(AT_FDCWD, m->source, B_OPEN_TREE_CLONE | O_CLOEXEC | rec);
}

static void bind_mount(struct init_ctx *ctx, struct plan_mount *m) {
  if (!m->source) failx("mount", "%s: bind mount without a source", m->dest);
  int src = m->src_tree_fd;
  if (src < 0) src = open(m->source, O_PATH | O_CLOEXEC);
  if (src < 0) fail("mount", "%s: open source %s", m->dest, m->source);
  struct stat st;
  if (fstat(src, &st) < 0) fail("mount", "%s: stat source %s", m->dest, m->source);
  int dst = S_ISDIR(st.st_mode) ? mkdir_in_root(ctx->rootfd, m->dest, 0755) : create_file_in_root(ctx->rootfd, m->dest);
  if (dst < 0) fail("mount", "%s: create the destination in the rootfs", m->dest);
  uint64_t clr = 0;
  uint64_t set = attrs_of(m->flags, &clr);
  if (m->src_tree_fd >= 0) {
    /* P's copy belongs to a mount namespace of the host's user namespace, where we may not
     * change flags: attach it first, then set them on the mount now in our namespace. */
    if (b_move_mount(src, "", dst, "", B_MOVE_MOUNT_F_EMPTY_PATH | B_MOVE_MOUNT_T_EMPTY_PATH) < 0)
      fail("mount", "%s: attach the bind mount of %s", m->dest, m->source);
    struct b_mount_attr a = {.attr_set = set, .attr_clr = clr};
    if ((set || clr) && b_mount_setattr(src, "", AT_EMPTY_PATH, &a) < 0) fail("mount", "%s: set flags 0x%x", m->dest, m->flags);
    close(src);
    close(dst);
    m->src_tree_fd = -1;
    return;
  }
  unsigned rec = (m->flags & MS_REC) ? AT_RECURSIVE : 0;
  int tree = b_open_tree(src, "", B_OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH | rec);
  if (tree < 0) fail("mount", "%s: clone %s", m->dest, m->source);
  if (m->has_idmap) idmap_tree(tree, m);
  if (set || clr) {
    /* like `mount -o remount,bind,ro`: the top mount only; rro & co. are recursive attrs */
    struct b_mount_attr a = {.attr_set = set, .attr_clr = clr};
    if (b_mount_setattr(tree, "", AT_EMPTY_PATH, &a) < 0) fail("mount", "%s: set flags 0x%x", m->dest, m->flags);
  }
  if (b_move_mount(tree, "", dst, "", B_MOVE_MOUNT_F_EMPTY_PATH | B_MOVE_MOUNT_T_EMPTY_PATH) < 0)
    fail("mount", "%s: attach the bind mount of %s", m->dest, m->source);
  close(tree);
  close(dst);
  close(src);
}

static void normal_mount(struct init_ctx *ctx, struct plan_mount *m) {
  char fdp[64];
  int dst = mkdir_in_root(ctx->rootfd, m->dest, 0755);
  if (dst < 0) fail("mount", "%s: create the destination in the rootfs", m->dest);
  const char *type = m->type && *m->type ? m->type : NULL;
  if (mount(m->source ? m->source : "none", fd_path(dst, fdp), type, m->flags & ~(uint32_t)MS_REMOUNT, m->data) < 0) {
    /* sysfs needs a network namespace owned by our user namespace; without one, runc
     * falls back to a recursive bind of the host's /sys, and so do we */
    if (errno == EPERM && type && !strcmp(type, "sysfs") && (ctx->plan.clone_flags & CLONE_NEWUSER)) {
      struct plan_mount b = *m;
      b.source = "/sys";
      b.flags = MS_BIND | MS_REC | (m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
      close(dst);
      bind_mount(ctx, &b);
      return;
    }
    fail("mount", "%s: mount %s (type %s, options \"%s\")", m->dest, m->source ? m->source : "none", type ? type : "none",
         m->data ? m->data : "");
  }
  close(dst);
}

/* tmpfs with "tmpcopyup": made detached (fsopen/fsmount), filled with a copy of what the
 * image has at the destination (copyup.c), made read-only if asked, then attached. */
static void tmpcopyup_mount(struct init_ctx *ctx, struct plan_mount *m) {
  int dst = mkdir_in_root(ctx->rootfd, m->dest, 0755);
  if (dst < 0) fail("tmpcopyup", "%s: create the destination in the rootfs", m->dest);
  int fs = b_fsopen("tmpfs", B_FSOPEN_CLOEXEC);
  if (fs < 0) fail("tmpcopyup", "%s: fsopen tmpfs", m->dest);
  if (m->source && *m->source && b_fsconfig(fs, B_FSCONFIG_SET_STRING, "source", m->source, 0) < 0)
    fail("tmpcopyup", "%s: tmpfs source %s", m->dest, m->source);
  int opt_mode = 0, opt_owner = 0;
  if (m->data && *m->data) {
    /* the comma-separated data string, one fsconfig call per option, as mount(2) would */
    char opts[4096];
    if (strlen(m->data) >= sizeof opts) failx("tmpcopyup", "%s: options too long", m->dest);
    snprintf(opts, sizeof opts, "%s", m->data);
    char *save, *tok;
    for (tok = strtok_r(opts, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
      char *eq = strchr(tok, '=');
      if (eq) *eq = 0;
      if (!strcmp(tok, "mode")) opt_mode = 1;
      if (!strcmp(tok, "uid") || !strcmp(tok, "gid")) opt_owner = 1;
      int r = eq ? b_fsconfig(fs, B_FSCONFIG_SET_STRING, tok, eq + 1, 0) : b_fsconfig(fs, B_FSCONFIG_SET_FLAG, tok, NULL, 0);
      if (r < 0) fail("tmpcopyup", "%s: tmpfs option %s%s%s", m->dest, tok, eq ? "=" : "", eq ? eq + 1 : "");
    }
  }
  if (b_fsconfig(fs, B_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) fail("tmpcopyup", "%s: create tmpfs", m->dest);
  uint64_t clr = 0;
  uint64_t attrs = attrs_of(m->flags & ~(uint32_t)MS_RDONLY, &clr);
  int mnt = b_fsmount(fs, B_FSMOUNT_CLOEXEC, (unsigned)attrs);
  if (mnt < 0) fail("tmpcopyup", "%s: fsmount", m->dest);
  close(fs);
  int src = open_in_root(ctx->rootfd, m->dest, O_PATH | O_DIRECTORY);
  if (src < 0) fail("tmpcopyup", "%s: open the image's directory", m->dest);
  copy_tree(src, mnt, m->dest, !opt_owner, !opt_mode);
  close(src);
  if (m->flags & MS_RDONLY) {
    struct b_mount_attr a = {.attr_set = B_MOUNT_ATTR_RDONLY};
    if (b_mount_setattr(mnt, "", AT_EMPTY_PATH, &a) < 0) fail("tmpcopyup", "%s: make read-only", m->dest);
  }
  if (b_move_mount(mnt, "", dst, "", B_MOVE_MOUNT_F_EMPTY_PATH | B_MOVE_MOUNT_T_EMPTY_PATH) < 0)
    fail("tmpcopyup", "%s: attach the tmpfs", m->dest);
  close(mnt);
  close(dst);
}

/* A read-only /dev still needs its device nodes, symlinks and submount points made inside
 * it: like runc, mount it writable and make it read-only once the rootfs is finished. */
void remount_dev_readonly(struct init_ctx *ctx) {
  int fd = open_in_root(ctx->rootfd, "/dev", O_PATH | O_DIRECTORY);
  if (fd < 0) fail("mount", "/dev: reopen to make it read-only");
  struct b_mount_attr a = {.attr_set = B_MOUNT_ATTR_RDONLY};
  if (b_mount_setattr(fd, "", AT_EMPTY_PATH, &a) < 0) fail("mount", "/dev: make it read-only");
  close(fd);
}

void do_mounts(struct init_ctx *ctx) {
  struct plan *p = &ctx->plan;
  for (int i = 0; i < p->nmounts; i++) {
    struct plan_mount *m = &p->mounts[i];
    size_t dl = strlen(m->dest);
    while (dl > 1 && m->dest[dl - 1] == '/') dl--;
    if ((m->flags & MS_RDONLY) && dl == 4 && !strncmp(m->dest, "/dev", 4)) {
      m->flags &= ~(uint32_t)MS_RDONLY;
      ctx->dev_readonly = 1;
    }
    switch (m->kind) {
    case MK_BIND: bind_mount(ctx, m); break;
    case MK_CGROUP: cgroup_mount(ctx, m); break; /* cgroup-mounts.c */
    case MK_TMPCOPYUP: tmpcopyup_mount(ctx, m); break;
    default: normal_mount(ctx, m); break;
    }
    apply_propagation_and_attrs(ctx, m);
    if (m->type && !strcmp(m->type, "proc") && !strcmp(m->dest, "/proc")) ctx->proc_mounted = 1;
  }
}
