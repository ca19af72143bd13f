/*
 * Starting the container. Either way the process we start (berth-init's first stage, or the
 * external runtime's `create`) exits once the container process exists; that process, its
 * descendant, is then re-parented to us (we are a child subreaper), so we can wait for it.
 *
 * built-in: berth-init gets the container's stdio as 0-2, the engine's end of the sync
 *   channel as fd 3 (and the seccomp listener socket as fd 4); the engine speaks the init
 *   protocol with it directly and tells us the container's pid (CTL_PID) after READY.
 * external: RUNTIME [runtime args] create --bundle B --pid-file F [--console-socket S] ID,
 *   with the container's stdio; the pid comes from the pid file once it has exited 0.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char pid_path[PATH_MAX];

static void report_spawned(pid_t pid) {
  S.init_pid = pid;
  uint32_t p = (uint32_t)pid;
  control_send(CTL_SPAWNED, &p, 4);
}

static void launch_builtin(void) {
  struct spawn_req r = {.path = S.o.init_path};
  char *argv[] = {"berth-init", NULL};
  char *envp[] = {"_BERTH_SYNC_FD=3", NULL};
  r.argv = argv;
  r.envp = envp;
  io_child_fds(r.fds);
  r.fds[3] = S.o.sync_fd;
  r.nfds = 4;
  if (S.o.listener_fd >= 0) r.fds[r.nfds++] = S.o.listener_fd;
  pid_t pid = spawn_proc(&r);
  if (pid < 0) shim_abort("start %s: %m", S.o.init_path);
  /* berth-init holds them now; our copies would keep the engine's channel from ever
   * seeing EOF */
  close(S.o.sync_fd);
  if (S.o.listener_fd >= 0) close(S.o.listener_fd);
  io_after_spawn();
  report_spawned(pid);
}

static void launch_external(void) {
  char console[PATH_MAX];
  if (S.o.pid_file[0] == '/') snprintf(pid_path, sizeof pid_path, "%s", S.o.pid_file);
  else snprintf(pid_path, sizeof pid_path, "%s/%s", S.o.dir, S.o.pid_file);
  snprintf(console, sizeof console, "%s/console.sock", S.o.dir);
  unlink(pid_path);
  size_t nextra = 0;
  if (S.o.runtime_args)
    while (S.o.runtime_args[nextra]) nextra++;
  char **argv = xrealloc(NULL, (nextra + 12) * sizeof(char *));
  size_t n = 0;
  argv[n++] = (char *)S.o.runtime;
  for (size_t i = 0; i < nextra; i++) argv[n++] = S.o.runtime_args[i];
  argv[n++] = "create";
  argv[n++] = "--bundle";
  argv[n++] = (char *)S.o.bundle;
  argv[n++] = "--pid-file";
  argv[n++] = pid_path;
  if (S.o.terminal) {
    argv[n++] = "--console-socket";
    argv[n++] = console;
  }
  argv[n++] = (char *)S.o.id;
  argv[n] = NULL;
  struct spawn_req r = {.path = S.o.runtime, .argv = argv};
  io_child_fds(r.fds);
  r.nfds = 3;
  pid_t pid = spawn_proc(&r);
  int err = errno;
  free(argv);
  if (pid < 0) {
    errno = err;
    shim_abort("start %s: %m", S.o.runtime);
  }
  io_after_spawn();
  report_spawned(pid);
}

void launch(void) {
  if (S.o.mode == RT_BUILTIN) launch_builtin();
  else launch_external();
}

static pid_t read_pid_file(void) {
  char buf[32];
  int fd = open(pid_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *end;
  long pid = strtol(buf, &end, 10);
  if (end == buf || pid <= 0 || pid > INT32_MAX) return -1;
  return (pid_t)pid;
}

void launch_exited(int status) {
  int32_t msg[2] = {0, 0};
  if (WIFEXITED(status)) msg[0] = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) msg[0] = 128 + WTERMSIG(status), msg[1] = WTERMSIG(status);
  control_send(CTL_INIT_EXIT, msg, sizeof msg);
  S.init_pid = 0;
  /* built-in: berth-init reports its own failures to the engine on the sync channel, and
   * the engine then closes the control channel (see control.c). */
  if (S.o.mode != RT_EXTERNAL) {
    monitor_check_ready();
    return;
  }
  if (msg[0] != 0) shim_abort("%s create exited with status %d", S.o.runtime, msg[0]);
  pid_t pid = read_pid_file();
  if (pid < 0) shim_abort("%s create succeeded but the pid file %s is missing or invalid", S.o.runtime, pid_path);
  monitor_set_pid(pid);
}
