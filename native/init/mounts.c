/*
 * The OCI `mounts` array, performed in order before pivot_root. Destinations are resolved
 * inside the rootfs (resolve.c) and mounted onto through /proc/self/fd/N (the host's /proc is
 * still our /proc here), so a symlink in the image cannot send a mount to the host. Bind
 * mounts are made detached (open_tree), given their attributes (ro, nosuid, idmap, ...) with
 * mount_setattr, and then attached: no window where a writable bind is visible, and flags the
 * kernel locked on the source are left alone instead of being cleared by a remount.
 */
#include "init.h"
#include "mountapi.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* MS_* flags that become per-mount attributes of a bind mount. */
static uint64_t attrs_of(uint32_t flags, uint64_t *clr) {
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

/* A user namespace with the mount's id mappings, for MOUNT_ATTR_IDMAP. Made by P (which is
 * host root) before clone: a child enters a new user namespace, we write its maps, keep an fd
 * to its namespace and let the child go. */
void make_idmap_userns(struct plan_mount *m) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) fail("idmap", "pipe");
  pid_t pid = fork();
  if (pid < 0) fail("idmap", "fork");
  if (pid == 0) {
    close(pipefd[1]);
    if (unshare(CLONE_NEWUSER) < 0) _exit(1);
    char c;
    /* wait until the parent has opened our namespace */
    while (read(pipefd[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(pipefd[0]);
  char path[64], buf[4096];
  /* wait for the child to have unshared: its ns/user link changes */
  struct stat self, other;
  stat("/proc/self/ns/user", &self);
  for (int i = 0; i < 100000; i++) {
    snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
    if (stat(path, &other) == 0 && other.st_ino != self.st_ino) break;
    usleep(100);
  }
  for (int k = 0; k < 2; k++) {
    struct idmap *maps = k == 0 ? m->uid_maps : m->gid_maps;
    int n = k == 0 ? m->nuid_maps : m->ngid_maps;
    size_t off = 0;
    for (int i = 0; i < n; i++)
      off += (size_t)snprintf(buf + off, sizeof buf - off, "%u %u %u\n", maps[i].inside, maps[i].outside, maps[i].count);
    snprintf(path, sizeof path, "/proc/%d/%s", pid, k == 0 ? "uid_map" : "gid_map");
    if (n && write_file(path, buf) < 0) fail("idmap", "write %s for mount %s", path, m->dest);
  }
  snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
  m->idmap_userns_fd = open(path, O_RDONLY | O_CLOEXEC);
  if (m->idmap_userns_fd < 0) fail("idmap", "open %s", path);
  close(pipefd[1]);
  waitpid(pid, NULL, 0);
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
  if (m->has_idmap) {
    int userns = m->idmap_userns_fd;
    if (userns < 0) userns = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC); /* the container's mappings */
    struct b_mount_attr a = {.attr_set = B_MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
    unsigned at = AT_EMPTY_PATH | (m->idmap_recursive ? AT_RECURSIVE : 0);
    if (b_mount_setattr(tree, "", at, &a) < 0) fail("mount", "%s: idmap (does the filesystem of %s support idmapped mounts?)", m->dest, m->source);
  }
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

/* ---- cgroup mounts ---- */

struct cg_mount {
  char mountpoint[PATH_MAX];
  char opts[512]; /* controllers, e.g. "cpu,cpuacct" or "name=systemd"; empty for cgroup2 */
  int v2;
};

static int read_cgroup_mounts(struct cg_mount *out, int max) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) fail("cgroup mount", "open /proc/self/mountinfo");
  char line[8192];
  int n = 0;
  while (n < max && fgets(line, sizeof line, f)) {
    char mp[PATH_MAX], fstype[64], super[1024];
    char *sep = strstr(line, " - ");
    if (!sep) continue;
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1) continue;
    if (sscanf(sep + 3, "%63s %*s %1023s", fstype, super) != 2) continue;
    int v2 = strcmp(fstype, "cgroup2") == 0;
    if (!v2 && strcmp(fstype, "cgroup") != 0) continue;
    struct cg_mount *c = &out[n];
    memset(c, 0, sizeof *c);
    snprintf(c->mountpoint, sizeof c->mountpoint, "%s", mp);
    c->v2 = v2;
    if (!v2) {
      char *save, *tok;
      for (tok = strtok_r(super, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "rw") || !strcmp(tok, "ro") || !strcmp(tok, "xattr") || !strcmp(tok, "clone_children") ||
            !strncmp(tok, "release_agent=", 14))
          continue;
        if (c->opts[0]) strncat(c->opts, ",", sizeof c->opts - strlen(c->opts) - 1);
        strncat(c->opts, tok, sizeof c->opts - strlen(c->opts) - 1);
      }
    }
    n++;
  }
  fclose(f);
  return n;
}

/* Our path in the hierarchy whose controller list is `opts` ("" = cgroup2), from /proc/self/cgroup. */
static int own_cgroup_path(const char *opts, int v2, char *out, size_t outlen) {
  FILE *f = fopen("/proc/self/cgroup", "re");
  if (!f) return -1;
  char line[4096];
  int found = -1;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *c1 = strchr(line, ':');
    if (!c1) continue;
    char *c2 = strchr(c1 + 1, ':');
    if (!c2) continue;
    *c2 = 0;
    const char *ctrls = c1 + 1;
    if ((v2 && !*ctrls) || (!v2 && !strcmp(ctrls, opts))) {
      snprintf(out, outlen, "%s", c2 + 1);
      found = 0;
      break;
    }
  }
  fclose(f);
  return found;
}

/* One hierarchy at `dst`: a fresh mount inside a cgroup namespace (which shows only our
 * subtree), else a bind of our own cgroup directory, never the host's whole tree. */
static void mount_hierarchy(struct init_ctx *ctx, const struct cg_mount *c, int dst, uint32_t flags, const char *dest) {
  char fdp[64];
  uint32_t mflags = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME | MS_NOATIME);
  if (ctx->plan.flags & PF_NEW_CGROUPNS) {
    if (mount("cgroup", fd_path(dst, fdp), c->v2 ? "cgroup2" : "cgroup", mflags, c->v2 ? NULL : c->opts) < 0)
      fail("cgroup mount", "%s: mount %s", dest, c->v2 ? "cgroup2" : c->opts);
    return;
  }
  char rel[PATH_MAX], src[PATH_MAX * 2];
  /* never fall back to the hierarchy's root: that is the host's whole tree */
  if (own_cgroup_path(c->opts, c->v2, rel, sizeof rel) < 0)
    failx("cgroup mount", "%s: no %s entry in /proc/self/cgroup", dest, c->v2 ? "cgroup2" : c->opts);
  snprintf(src, sizeof src, "%s%s", c->mountpoint, rel);
  int sfd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (sfd < 0) fail("cgroup mount", "%s: open %s", dest, src);
  int tree = b_open_tree(sfd, "", B_OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0) fail("cgroup mount", "%s: clone %s", dest, src);
  uint64_t clr = 0;
  struct b_mount_attr a = {.attr_set = attrs_of(mflags, &clr)};
  a.attr_clr = clr;
  if ((a.attr_set || a.attr_clr) && b_mount_setattr(tree, "", AT_EMPTY_PATH, &a) < 0) fail("cgroup mount", "%s: flags", dest);
  if (b_move_mount(tree, "", dst, "", B_MOVE_MOUNT_F_EMPTY_PATH | B_MOVE_MOUNT_T_EMPTY_PATH) < 0)
    fail("cgroup mount", "%s: bind %s", dest, src);
  close(tree);
  close(sfd);
}

static void cgroup_mount(struct init_ctx *ctx, struct plan_mount *m) {
  struct cg_mount cgs[32];
  int n = read_cgroup_mounts(cgs, 32);
  char fdp[64];
  int dst = mkdir_in_root(ctx->rootfd, m->dest, 0755);
  if (dst < 0) fail("cgroup mount", "%s: create the destination in the rootfs", m->dest);
  for (int i = 0; i < n; i++)
    if (cgs[i].v2 && !strcmp(cgs[i].mountpoint, "/sys/fs/cgroup")) {
      /* unified host: one cgroup2 mount */
      mount_hierarchy(ctx, &cgs[i], dst, m->flags, m->dest);
      close(dst);
      return;
    }
  /* v1 or hybrid: a tmpfs holding one directory per hierarchy, as runc lays it out */
  uint32_t tflags = m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (mount("tmpfs", fd_path(dst, fdp), "tmpfs", tflags, "mode=755") < 0) fail("cgroup mount", "%s: tmpfs", m->dest);
  close(dst);
  dst = open_in_root(ctx->rootfd, m->dest, O_PATH | O_DIRECTORY);
  if (dst < 0) fail("cgroup mount", "%s: reopen", m->dest);
  for (int i = 0; i < n; i++) {
    const char *slash = strrchr(cgs[i].mountpoint, '/');
    const char *name = slash ? slash + 1 : cgs[i].mountpoint;
    if (strncmp(cgs[i].mountpoint, "/sys/fs/cgroup/", 15) != 0 || !*name || strchr(name, '/')) continue;
    if (mkdirat(dst, name, 0755) < 0 && errno != EEXIST) fail("cgroup mount", "%s: mkdir %s", m->dest, name);
    int sub = openat(dst, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) fail("cgroup mount", "%s: open %s", m->dest, name);
    mount_hierarchy(ctx, &cgs[i], sub, m->flags, m->dest);
    close(sub);
    /* cpu -> cpu,cpuacct and friends */
    if (strchr(name, ',')) {
      char copy[256];
      size_t nl = strnlen(name, sizeof copy - 1);
      memcpy(copy, name, nl);
      copy[nl] = 0;
      char *save, *tok;
      for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (symlinkat(name, dst, tok) < 0 && errno != EEXIST) fail("cgroup mount", "%s: symlink %s", m->dest, tok);
    }
  }
  if (m->flags & MS_RDONLY) {
    struct b_mount_attr a = {.attr_set = B_MOUNT_ATTR_RDONLY};
    if (b_mount_setattr(dst, "", AT_EMPTY_PATH, &a) < 0) fail("cgroup mount", "%s: make the tmpfs read-only", m->dest);
  }
  close(dst);
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
    case MK_CGROUP: cgroup_mount(ctx, m); break;
    case MK_TMPCOPYUP: tmpcopyup_mount(ctx, m); break;
    default: normal_mount(ctx, m); break;
    }
    apply_propagation_and_attrs(ctx, m);
    if (m->type && !strcmp(m->type, "proc") && !strcmp(m->dest, "/proc")) ctx->proc_mounted = 1;
  }
}
