/*
 * createContainer and startContainer hooks: they run in the container's namespaces, so C
 * runs them itself (fork + execve) with the state JSON on stdin, its own args and env, and
 * kills a hook that outlives its timeout. Working directory, as runc: the container's root
 * for createContainer (relative paths resolve in the container; we are not pivoted yet), the
 * process's cwd for startContainer (entered just before).
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void run_hook(struct init_ctx *ctx, const char *kind, int index, struct plan_hook *h, int cwdfd) {
  int in[2];
  if (pipe2(in, O_CLOEXEC) < 0) fail(kind, "pipe");
  pid_t pid = fork();
  if (pid < 0) fail(kind, "fork");
  if (pid == 0) {
    set_sync_fd(-1); /* errors here are the hook's, reported by its exit status */
    if (dup2(in[0], 0) < 0) _exit(127);
    if (cwdfd >= 0 && fchdir(cwdfd) < 0) _exit(127);
    execve(h->path, (char *const *)h->args, (char *const *)h->env);
    _exit(127);
  }
  close(in[0]);
  const char *state = ctx->state_json ? ctx->state_json : "{}";
  signal(SIGPIPE, SIG_IGN); /* a hook need not read its stdin */
  write_all(in[1], state, strlen(state));
  close(in[1]);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) fail(kind, "pidfd_open");
  int timeout_ms = h->timeout ? (int)h->timeout * 1000 : -1;
  struct pollfd pf = {pidfd, POLLIN, 0};
  int r;
  do r = poll(&pf, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    failx("hooks", "%s[%d] (%s): timed out after %u s and was killed", kind, index, h->path, h->timeout);
  }
  close(pidfd);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) fail("hooks", "%s[%d] (%s): wait", kind, index, h->path);
  signal(SIGPIPE, SIG_DFL);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    failx("hooks", "%s[%d] (%s): could not be executed (exit status 127)", kind, index, h->path);
  if (WIFEXITED(status)) failx("hooks", "%s[%d] (%s): exited with status %d", kind, index, h->path, WEXITSTATUS(status));
  failx("hooks", "%s[%d] (%s): killed by signal %d", kind, index, h->path, WTERMSIG(status));
}

void run_hooks(struct init_ctx *ctx, const char *kind, struct plan_hook *hooks, int n, int cwdfd) {
  for (int i = 0; i < n; i++) run_hook(ctx, kind, i, &hooks[i], cwdfd);
}
