/*
 * berth-init entry point. Node spawns this program with the sync channel on the fd named by
 * _BERTH_SYNC_FD (always 3 + the number of preserved fds). Order matters:
 *   1. re-exec from a sealed memfd copy (CVE-2019-5736) before anything else;
 *   2. become non-dumpable before touching any namespace, so that no process in a container
 *      can ptrace us or open our /proc/<pid>/{exe,fd,mem};
 *   3. mark every fd above the preserved ones close-on-exec (only the caller's stdio and
 *      preserved fds may reach the container process);
 *   4. read and decode the plan, then run stage 1.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <sys/syscall.h>

int main(int argc, char **argv, char **envp) {
  (void)argc;
  const char *fdenv = getenv("_BERTH_SYNC_FD");
  if (!fdenv) {
    dprintf(2, "berth-init: this program is started by berth (no _BERTH_SYNC_FD in the environment)\n");
    return 1;
  }
  char *end;
  long fd = strtol(fdenv, &end, 10);
  if (*end || fd < 3 || fd > 65535) {
    dprintf(2, "berth-init: bad _BERTH_SYNC_FD=%s\n", fdenv);
    return 1;
  }
  set_sync_fd((int)fd);
  ensure_sealed_exe(argv, envp);
  unsetenv("_BERTH_SYNC_FD");
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) fail("init", "prctl(PR_SET_DUMPABLE, 0)");
  int fl = fcntl((int)fd, F_GETFL);
  if (fl < 0) fail("init", "sync fd %ld", fd);
  if (fl & O_NONBLOCK) fcntl((int)fd, F_SETFL, fl & ~O_NONBLOCK);
  /* the sync fd itself and anything after it: close-on-exec */
  if (syscall(SYS_close_range, (unsigned)fd, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail("init", "close_range(CLOEXEC)");

  static struct init_ctx ctx;
  ctx.sync_fd = (int)fd;
  ctx.console_fd = -1;
  ctx.fifo_fd = -1;
  ctx.rootfd = -1;
  ctx.host_proc = -1;
  uint32_t len;
  uint8_t *buf = recv_frame(ctx.sync_fd, FRAME_PLAN, &len);
  plan_decode(&ctx.plan, buf, len);
  if (ctx.plan.preserve_fds != (uint32_t)(fd - 3))
    failx("init", "plan preserves %u fds but the sync fd is %ld", ctx.plan.preserve_fds, fd);
  /* above the sync fd, so it is close-on-exec and never one of the container's fds */
  if (ctx.plan.has_seccomp_listener_sock && ctx.plan.seccomp_listener_sock <= fd)
    failx("init", "seccomp listener socket %d must come after the sync fd %ld", ctx.plan.seccomp_listener_sock, fd);
  run_stage1(&ctx);
}
