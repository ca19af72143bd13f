/*
 * Mounts of type "cgroup": what the container sees at /sys/fs/cgroup. With a new cgroup
 * namespace each hierarchy is mounted afresh (the kernel shows only our subtree); without one,
 * our own cgroup directory is bind-mounted, never the hierarchy's root (the host's whole tree).
 * The host's hierarchies are read from /proc/self/mountinfo, our place in them from
 * /proc/self/cgroup (P has put C in its cgroups before C gets here).
 */
#include "init.h"
#include "mountapi.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The OCI mount of type "cgroup": the cgroup2 tree on a unified host, else a tmpfs with one
 * directory per v1 hierarchy (and the unified one of a hybrid host), as runc lays it out. */
void cgroup_mount(struct init_ctx *ctx, struct plan_mount *m) {
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
