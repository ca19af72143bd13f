/*
 * Starting programs: berth-init or the external runtime, health checks, the exit command.
 * The child gets exactly the fds named in the request as 0..n-1 and nothing else (every
 * shim fd is close-on-exec, and the rest of the table is marked so again before execve), a
 * clean signal mask and default dispositions. An exec failure comes back through a
 * close-on-exec pipe, so the caller sees errno instead of a mysterious exit 127.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/close_range.h>

extern char **environ;

static __attribute__((noreturn)) void child_fail(int errpipe, int err) {
  ssize_t r = write(errpipe, &err, sizeof err);
  (void)r;
  _exit(127);
}

static __attribute__((noreturn)) void exec_child(const struct spawn_req *r, int errpipe) {
  /* Move every source above the target range first, so that placing fd i never clobbers a
   * source still needed for a later target. F_DUPFD picks free numbers, never a used one. */
  int tmp[6];
  int nfds = r->nfds;
  for (int i = 0; i < nfds; i++) {
    int src = r->fds[i];
    if (src < 0) src = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (src < 0) child_fail(errpipe, errno);
    tmp[i] = fcntl(src, F_DUPFD_CLOEXEC, nfds > 3 ? nfds : 3);
    if (tmp[i] < 0) child_fail(errpipe, errno);
  }
  for (int i = 0; i < nfds; i++)
    if (dup2(tmp[i], i) < 0) child_fail(errpipe, errno); /* dup2 clears CLOEXEC on the target */
  /* Anything else (including fds the engine's parent leaked to us) closes at execve. */
  if (syscall(SYS_close_range, (unsigned)nfds, ~0U, CLOSE_RANGE_CLOEXEC) < 0) child_fail(errpipe, errno);
  execve(r->path, r->argv, r->envp ? r->envp : environ);
  child_fail(errpipe, errno);
}

static void reset_signals(void) {
  sigset_t none;
  sigemptyset(&none);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

pid_t spawn_proc(const struct spawn_req *r) {
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) < 0) return -1;
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(ep[0]);
    close(ep[1]);
    errno = err;
    return -1;
  }
  if (pid == 0) {
    close(ep[0]);
    reset_signals();
    if (r->new_session || r->detach) setsid();
    if (r->detach) {
      /* The grandchild is adopted by us (subreaper) and, once we exit, by our own reaper;
       * either way it is not killed with us and does not hold our exit. */
      pid_t g = fork();
      if (g < 0) child_fail(ep[1], errno);
      if (g > 0) _exit(0);
    }
    exec_child(r, ep[1]);
  }
  close(ep[1]);
  int err = 0;
  ssize_t n;
  do n = read(ep[0], &err, sizeof err); while (n < 0 && errno == EINTR);
  close(ep[0]);
  if (r->detach) {
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  if (n == (ssize_t)sizeof err) {
    if (!r->detach) {
      int st;
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
    }
    errno = err;
    return -1;
  }
  return pid;
}
