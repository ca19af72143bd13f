/*
 * Process settings, in the order that keeps each step possible: things that need privileges
 * (sysctls, rlimits above the current hard limit, lowering oom_score_adj, realtime scheduling)
 * first; then the user switch with capabilities kept across it (PR_SET_KEEPCAPS), then the
 * final capability sets. Seccomp is loaded by seccomp.c, last of all (see container.c).
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

void apply_sysctls(struct init_ctx *ctx) {
  struct plan *p = &ctx->plan;
  if (!p->nsysctl) return;
  int procsys = open_in_root(ctx->rootfd, "/proc/sys", O_PATH | O_DIRECTORY);
  if (procsys < 0) fail("sysctl", "open /proc/sys in the container (is /proc mounted?)");
  for (int i = 0; i < p->nsysctl; i++) {
    const char *key = p->sysctl_keys[i];
    char path[PATH_MAX];
    if (strlen(key) >= sizeof path) failx("sysctl", "%s: key too long", key);
    /* dots separate components unless the key is already written with slashes */
    snprintf(path, sizeof path, "%s", key);
    if (!strchr(path, '/'))
      for (char *c = path; *c; c++)
        if (*c == '.') *c = '/';
    if (strstr(path, "..") || path[0] == '/') failx("sysctl", "%s: invalid key", key);
    int fd = open_in_root(procsys, path, O_WRONLY | O_TRUNC);
    if (fd < 0) fail("sysctl", "%s: open /proc/sys/%s", key, path);
    size_t len = strlen(p->sysctl_values[i]);
    if (write(fd, p->sysctl_values[i], len) != (ssize_t)len) fail("sysctl", "%s: write \"%s\"", key, p->sysctl_values[i]);
    close(fd);
  }
  close(procsys);
}

struct sched_attr_k {
  uint32_t size, sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
};

void apply_process_attrs(struct init_ctx *ctx) {
  struct plan *p = &ctx->plan;
  for (int i = 0; i < p->nrlimits; i++) {
    struct rlimit rl = {(rlim_t)p->rlimits[i].soft, (rlim_t)p->rlimits[i].hard};
    if (setrlimit((int)p->rlimits[i].resource, &rl) < 0)
      fail("rlimits", "setrlimit(%u, soft %llu, hard %llu)", p->rlimits[i].resource, (unsigned long long)rl.rlim_cur,
           (unsigned long long)rl.rlim_max);
  }
  if (p->has_oom) {
    char buf[32];
    snprintf(buf, sizeof buf, "%d", p->oom_score_adj);
    if (write_file("/proc/self/oom_score_adj", buf) < 0) fail("oomScoreAdj", "write /proc/self/oom_score_adj %s", buf);
  }
  if (p->has_personality && personality(p->personality) < 0) fail("personality", "personality(0x%x)", p->personality);
  if (p->has_ioprio && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)p->ioprio) < 0)
    fail("ioPriority", "ioprio_set(0x%x)", p->ioprio);
  if (p->has_sched) {
    struct sched_attr_k a = {
        .size = sizeof a,
        .sched_policy = p->sched.policy,
        .sched_flags = p->sched.flags,
        .sched_nice = p->sched.nice,
        .sched_priority = p->sched.priority,
        .sched_runtime = p->sched.runtime,
        .sched_deadline = p->sched.deadline,
        .sched_period = p->sched.period,
    };
    if (syscall(SYS_sched_setattr, 0, &a, 0) < 0) fail("scheduler", "sched_setattr(policy %u)", p->sched.policy);
  }
  if (p->apparmor && *p->apparmor) {
    char buf[512];
    snprintf(buf, sizeof buf, "exec %s", p->apparmor);
    /* applied at execve; a host without AppArmor was refused earlier by the driver */
    if (write_file("/proc/self/attr/apparmor/exec", buf) < 0 && write_file("/proc/self/attr/exec", buf) < 0)
      fail("apparmor", "set profile %s", p->apparmor);
  }
  umask((mode_t)p->umask);
}

static void capset_sets(uint64_t eff, uint64_t prm, uint64_t inh) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {
      {(uint32_t)eff, (uint32_t)prm, (uint32_t)inh},
      {(uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32)},
  };
  if (syscall(SYS_capset, &h, d) < 0) fail("capabilities", "capset(eff 0x%llx, prm 0x%llx, inh 0x%llx)",
                                           (unsigned long long)eff, (unsigned long long)prm, (unsigned long long)inh);
}

static int last_cap(void) {
  static int last = -1;
  if (last >= 0) return last;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  last = 40;
  if (f) {
    if (fscanf(f, "%d", &last) != 1) last = 40;
    fclose(f);
  } else {
    /* after the pivot /proc may be absent: probe the bounding set instead */
    for (last = 63; last > 0 && prctl(PR_CAPBSET_READ, last, 0, 0, 0) < 0; last--) {
    }
  }
  return last;
}

/* CAP_SYS_ADMIN, which loading a seccomp filter without no_new_privs needs */
#define CAP_SYS_ADMIN_BIT (1ULL << 21)

void switch_user_and_caps(struct init_ctx *ctx, int keep_sys_admin) {
  struct plan *p = &ctx->plan;
  int last = last_cap();
  if (p->has_caps) {
    for (int c = 0; c <= last; c++)
      if (!(p->cap_bounding & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
        fail("capabilities", "drop %d from the bounding set", c);
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail("user", "PR_SET_KEEPCAPS");
  gid_t *gids = xmalloc(sizeof(gid_t) * (size_t)(p->ngids ? p->ngids : 1));
  for (int i = 0; i < p->ngids; i++) gids[i] = p->gids[i];
  /* setgroups is refused in a user namespace whose setgroups file says "deny": tolerate that
   * only when no supplementary groups were asked for */
  if (setgroups((size_t)p->ngids, gids) < 0 && !(errno == EPERM && p->ngids == 0)) fail("user", "setgroups(%d groups)", p->ngids);
  if (setresgid(p->gid, p->gid, p->gid) < 0) fail("user", "setresgid(%u)", p->gid);
  if (setresuid(p->uid, p->uid, p->uid) < 0) fail("user", "setresuid(%u)", p->uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail("user", "clear PR_SET_KEEPCAPS");
  /* keep_sys_admin: the seccomp filter is still to be loaded without no_new_privs, which
   * takes CAP_SYS_ADMIN. It stays in the effective and permitted sets only: execve computes
   * the new permitted and effective sets from the bounding, inheritable and ambient sets
   * (root: bounding | inheritable; others: ambient) and never from the old permitted set, so
   * it does not survive into the container process, and no capset has to run under the
   * user's filter (see container.c). */
  uint64_t extra = keep_sys_admin ? CAP_SYS_ADMIN_BIT : 0;
  /* Without a capabilities object the sets are left as the kernel made them across the user
   * switch (all for root, none otherwise), as runc does; inheritable is emptied regardless. */
  if (p->has_caps) capset_sets(p->cap_effective | extra, p->cap_permitted | extra, p->cap_inheritable);
  else {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0) fail("capabilities", "capget");
    capset_sets((d[0].effective | ((uint64_t)d[1].effective << 32)) | extra,
                (d[0].permitted | ((uint64_t)d[1].permitted << 32)) | extra, 0);
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) fail("capabilities", "clear ambient");
  for (int c = 0; c <= last && p->has_caps; c++)
    if ((p->cap_ambient & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
      fail("capabilities", "raise ambient capability %d (it must be permitted and inheritable too)", c);
}

/* chdir into process.cwd, resolved inside the container's root: a cwd that leads outside
 * (a symlink to "../../..", a /proc/self/fd/N magic link to a host directory) is refused. */
void enter_cwd(struct init_ctx *ctx) {
  struct plan *p = &ctx->plan;
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail("cwd", "open /");
  int fd = open_in_root(root, p->cwd, O_PATH | O_DIRECTORY);
  if (fd < 0) {
    if (errno == ELOOP || errno == EXDEV) fail("cwd", "%s resolves outside the container", p->cwd);
    fail("cwd", "%s", p->cwd);
  }
  struct stat rs, cs;
  if (fstat(root, &rs) < 0 || fstat(fd, &cs) < 0) fail("cwd", "stat %s", p->cwd);
  if (fchdir(fd) < 0) fail("cwd", "chdir %s", p->cwd);
  close(fd);
  close(root);
}

/* Leaves errno as execve(2) would set it, so the failure names the cause: a directory or
 * other non-regular file is EACCES there too. */
static int executable(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0) return 0;
  if (!S_ISREG(st.st_mode)) {
    errno = EACCES;
    return 0;
  }
  return access(path, X_OK) == 0;
}

/* execvp-like lookup with the container's PATH (not ours), done before READY so that a
 * missing binary fails `create` as it does with runc. */
const char *lookup_executable(struct init_ctx *ctx) {
  struct plan *p = &ctx->plan;
  const char *name = p->args[0];
  if (strchr(name, '/')) {
    if (!executable(name)) fail("exec", "%s", name);
    return name;
  }
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (int i = 0; i < p->nenv; i++)
    if (!strncmp(p->env[i], "PATH=", 5)) path = p->env[i] + 5;
  static char buf[PATH_MAX];
  const char *s = path;
  while (1) {
    const char *e = strchr(s, ':');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n == 0) snprintf(buf, sizeof buf, "%s", name);
    else snprintf(buf, sizeof buf, "%.*s/%s", (int)n, s, name);
    if (executable(buf)) return buf;
    if (!e) break;
    s = e + 1;
  }
  errno = ENOENT;
  fail("exec", "%s: not found in PATH=%s", name, path);
}
