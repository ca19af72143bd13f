/*
 * berth-shim entry point. Order matters:
 *   1. parse argv; close every fd above the ones we were given (whoever started the engine
 *      may have leaked some, and nothing of theirs may reach a container);
 *   2. own session (no controlling terminal, not in the engine's process group), child
 *      subreaper (the container process, orphaned by berth-init or runc, comes to us);
 *   3. the control channel first, so that every later failure reaches the engine;
 *   4. cwd = the container directory (socket names stay short whatever its path), shim.pid,
 *      signals through a signalfd, stdio, attach socket, log, health timer;
 *   5. start berth-init / the runtime, then serve until the container exits.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/close_range.h>

struct shim S;

static struct watch sig_w = {.fd = -1};
static int sig_fd = -1;

/* Signals the engine (`berth kill`, a supervisor) sends us go to the container process. */
static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static void on_signal(struct watch *w, uint32_t events) {
  (void)w;
  (void)events;
  struct signalfd_siginfo si;
  while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
    if (si.ssi_signo == SIGCHLD) reap_children();
    else if (S.container_pid && !S.exiting) kill(S.container_pid, (int)si.ssi_signo);
  }
}

static void setup_signals(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaddset(&set, forwarded[i]);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) shim_abort("sigprocmask: %m");
  sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sig_fd < 0) shim_abort("signalfd: %m");
  signal(SIGPIPE, SIG_IGN); /* a vanished attach client is an EPIPE, not our death */
  loop_add(&sig_w, sig_fd, EPOLLIN, on_signal);
}

static void write_pid_file(void) {
  char buf[64];
  int n = snprintf(buf, sizeof buf, "%d %llu\n", (int)getpid(), proc_start_time(getpid()));
  if (write_file_atomic("shim.pid", buf, (size_t)n) < 0) shim_abort("write %s/shim.pid: %m", S.o.dir);
}

static void keep_fd(int fd) {
  if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) die("fd %d was not passed to us: %m", fd);
}

int main(int argc, char **argv) {
  if (parse_args(argc, argv, &S.o) < 0) return 2;
  int maxfd = S.o.control_fd;
  if (S.o.sync_fd > maxfd) maxfd = S.o.sync_fd;
  if (S.o.listener_fd > maxfd) maxfd = S.o.listener_fd;
  syscall(SYS_close_range, (unsigned)maxfd + 1, ~0U, 0);
  keep_fd(S.o.control_fd);
  keep_fd(S.o.sync_fd);
  keep_fd(S.o.listener_fd);

  if (getsid(0) != getpid() && setsid() < 0) die("setsid: %m");
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) die("prctl(PR_SET_CHILD_SUBREAPER): %m");

  loop_init();
  control_init();
  if (chdir(S.o.dir) < 0) shim_abort("chdir %s: %m", S.o.dir);
  write_pid_file();
  setup_signals();
  io_setup();
  attach_listen();
  log_open();
  health_init();
  launch();
  loop_run();
  return 0;
}
