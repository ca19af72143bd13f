/*
 * The container process ("C"), from clone() to execve(). The order follows the OCI lifecycle:
 * wait for GO (id maps written, cgroup joined) -> rootfs and mounts -> HOOKS round trip
 * (prestart/createRuntime run by Node) -> createContainer hooks -> pivot_root -> masked and
 * read-only paths -> per-container settings -> process settings -> READY -> exec fifo ->
 * startContainer hooks -> execve. For `exec` only the process part runs.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/close_range.h>

static void join_session_keyring(struct init_ctx *ctx) {
  char name[256];
  snprintf(name, sizeof name, "_ses.%s", ctx->plan.id ? ctx->plan.id : "berth");
  /* KEYCTL_JOIN_SESSION_KEYRING = 1. Hosts without keyrings (ENOSYS), or which refuse them in
   * user namespaces (EDQUOT/EACCES), run the container without one, as runc does. */
  if (syscall(SYS_keyctl, 1, name, 0, 0, 0) < 0 && errno != ENOSYS && errno != EDQUOT && errno != EACCES)
    fail("keyring", "join session keyring %s", name);
}

static void create_container_setup(struct init_ctx *ctx) {
  struct plan *p = &ctx->plan;
  if (p->flags & PF_NEW_CGROUPNS) {
    /* after Node put us in our cgroup, so the namespace is rooted there */
    if (unshare(CLONE_NEWCGROUP) < 0) fail("cgroupns", "unshare(CLONE_NEWCGROUP)");
  }
  if (p->flags & PF_LOOPBACK_UP) loopback_up();
  prepare_root(ctx);
  do_mounts(ctx);
  make_devices(ctx);
  /* runc creates a missing cwd; do it inside the root, as root, before the user switch */
  int cwdfd = mkdir_in_root(ctx->rootfd, p->cwd, 0755);
  if (cwdfd >= 0) close(cwdfd);

  send_frame(ctx->sync_fd, FRAME_HOOKS, NULL, 0);
  ctx->state_json = recv_frame(ctx->sync_fd, FRAME_STATE, NULL);
  run_hooks(ctx, "createContainer", p->create_hooks, p->ncreate_hooks, ctx->rootfd);

  switch_root(ctx);
  /* sysctls before readonlyPaths, which usually include /proc/sys */
  apply_sysctls(ctx);
  masked_and_readonly_paths(ctx);
  if (ctx->dev_readonly) remount_dev_readonly(ctx);
  if (p->flags & PF_ROOT_READONLY) remount_root_readonly(ctx);
  if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0) fail("hostname", "sethostname %s", p->hostname);
  if (p->domainname && setdomainname(p->domainname, strlen(p->domainname)) < 0)
    fail("domainname", "setdomainname %s", p->domainname);
  if (!(p->flags & PF_NO_NEW_KEYRING)) join_session_keyring(ctx);
}

/* Waits for `start`: opening the fifo for writing blocks until a reader opens it. */
static void wait_for_start(struct init_ctx *ctx) {
  char path[64];
  snprintf(path, sizeof path, "self/fd/%d", ctx->fifo_fd);
  int fd = openat(ctx->host_proc, path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("exec fifo", "reopen for writing");
  close(ctx->host_proc);
  ctx->host_proc = -1;
  if (write(fd, "0", 1) != 1) fail("exec fifo", "write");
  close(fd);
  close(ctx->fifo_fd);
  ctx->fifo_fd = -1;
}

void run_container(struct init_ctx *ctx) {
  struct plan *p = &ctx->plan;
  free(recv_frame(ctx->sync_fd, FRAME_GO, NULL));
  if (p->mode == MODE_CREATE && (p->clone_flags & CLONE_NEWUSER)) {
    /* become root of the new user namespace (maps were written by Node before GO) */
    if (setresgid(0, 0, 0) < 0) fail("user namespace", "setresgid(0) (is gid 0 mapped?)");
    if (setresuid(0, 0, 0) < 0) fail("user namespace", "setresuid(0) (is uid 0 mapped?)");
  }
  if (p->mode == MODE_CREATE) create_container_setup(ctx);

  apply_process_attrs(ctx);
  if (p->flags & PF_TERMINAL) setup_console(ctx);
  /* The user's filter is loaded last, right before execve: the profile is the container's,
   * and nothing of our own setup (user switch, cwd, PATH lookup, fds, fifo, hooks) may depend
   * on what it allows. Without no_new_privs loading it needs CAP_SYS_ADMIN, which runc solves
   * by loading it before the user switch (so its setup runs under the filter); we keep
   * CAP_SYS_ADMIN in the pre-exec sets instead, where execve drops it (process.c). */
  switch_user_and_caps(ctx, p->has_seccomp && !(p->flags & PF_NO_NEW_PRIVS));
  enter_cwd(ctx);
  const char *exe = lookup_executable(ctx);
  if ((p->flags & PF_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("no_new_privs", "prctl");
  /* No host fd may reach the container: everything past the preserved fds closes on exec
   * (the sync channel included, which is how Node learns that execve succeeded). */
  if (syscall(SYS_close_range, 3 + p->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail("fds", "close_range");

  if (p->mode == MODE_CREATE) {
    /* A notification listener must reach the runtime while `create` still holds the sync
     * channel (after READY nobody listens until execve): load the filter before READY then,
     * as runc does; the fifo and startContainer hooks run under it. */
    if (seccomp_has_listener(p)) load_seccomp(ctx);
    send_frame(ctx->sync_fd, FRAME_READY, NULL, 0);
    if (ctx->fifo_fd >= 0) wait_for_start(ctx);
    /* startContainer hooks are the user's code in the container, run under the filter as
     * with runc (its seccomp.bats); the runtime's own steps above stay outside it. */
    if (p->has_seccomp && p->nstart_hooks > 0) load_seccomp(ctx);
    run_hooks(ctx, "startContainer", p->start_hooks, p->nstart_hooks, -1);
  }
  /* the last syscall before execve (a no-op if a listener made us load it above) */
  if (p->has_seccomp) load_seccomp(ctx);
  execve(exe, (char *const *)p->args, (char *const *)p->env);
  fail("exec", "execve %s", exe);
}
