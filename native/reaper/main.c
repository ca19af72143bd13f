/*
 * berth-reaper: the `--init` process. It runs as PID 1 of a container, starts the real
 * command as its child, forwards the signals it receives to that child, reaps every orphan
 * the kernel re-parents to it (so zombies never pile up), and exits with the child's status
 * (128+N when the child died of signal N). PID 1 ignores signals it has no handler for, which
 * is why `docker stop` on a shell-less process hangs without an init like this.
 *
 * Usage (as the engine mounts it): /dev/init -- COMMAND [ARGS...]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "berth-reaper: %s: %s\n", what, strerror(errno));
  exit(127);
}

int main(int argc, char **argv) {
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--") == 0) first = 2;
  if (first >= argc) {
    fprintf(stderr, "usage: %s -- COMMAND [ARGS...]\n", argv[0]);
    return 2;
  }

  /* Block every signal; they are taken synchronously with sigwaitinfo below. */
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &all, NULL) < 0) die("sigprocmask");

  /* Not PID 1 (e.g. --pid host): still adopt orphans of our subtree. */
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) die("sigprocmask");
    /* Its own process group, so that a terminal's ^C reaches it as it would without us. */
    setpgid(0, 0);
    if (isatty(STDIN_FILENO)) tcsetpgrp(STDIN_FILENO, getpid());
    execvp(argv[first], &argv[first]);
    fprintf(stderr, "berth-reaper: exec %s: %s\n", argv[first], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }

  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) {
      if (errno == EINTR) continue;
      die("sigwaitinfo");
    }
    if (sig != SIGCHLD) {
      /* Forward to the child's process group; fall back to the child alone. */
      if (kill(-child, sig) < 0) kill(child, sig);
      continue;
    }
    for (;;) {
      int status;
      pid_t p = waitpid(-1, &status, WNOHANG);
      if (p <= 0) break;
      if (p == child) {
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      }
    }
  }
}
