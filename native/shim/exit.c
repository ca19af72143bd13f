/*
 * Reaping and the end of a container. As a child subreaper we inherit every orphan below
 * us, so each SIGCHLD reaps everything that has exited (no zombie ever piles up), and
 * dispatches the statuses we care about: berth-init / the runtime's create, the health
 * check, the container process.
 *
 * When the container process exits: read its remaining output, close the log, look at the
 * memory cgroup's OOM-kill counter, write exit.json atomically, close the attach clients,
 * start the exit command (detached) and exit. exit.json is the engine's proof that the
 * container ended and how; if the shim dies without writing it, the engine notices a dead
 * shim (pid + start time) without exit.json (PROTOCOL.md, "shim lost").
 */
#include "shim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* exits reaped before we knew which pid is the container's (it may die during create) */
static struct {
  pid_t pid;
  int status;
} early[16];
static unsigned nearly;

static int exit_pending, exit_status;
static int oom_fd = -1;
static long long oom_base = -1;

/* ---- OOM: the memory cgroup's oom_kill counter, before and after ---- */

static long long read_oom_kill(void) {
  char buf[1024];
  ssize_t n = pread(oom_fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return -1;
  buf[n] = 0;
  for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
    if (!strncmp(line, "oom_kill ", 9)) return strtoll(line + 9, NULL, 10);
  return -1;
}

/* Finds the counter from /proc/PID/cgroup while the process (and so its cgroup) exists:
 * v1 memory.oom_control (hybrid hosts keep memory on v1), else cgroup2's memory.events. */
static void oom_setup(pid_t pid) {
  char path[4200], line[4096];
  snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f) return;
  char v1[4096] = "", v2[4096] = "";
  int have_v1 = 0, have_v2 = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = 0;
    const char *controllers = c1 + 1, *cg = c2 + 1;
    if (!strcmp(line, "0") && !*controllers) {
      snprintf(v2, sizeof v2, "%s", cg);
      have_v2 = 1;
      continue;
    }
    /* controllers is a comma-separated list, e.g. "memory" */
    for (const char *p = controllers; p && *p;) {
      const char *comma = strchr(p, ',');
      size_t len = comma ? (size_t)(comma - p) : strlen(p);
      if (len == 6 && !strncmp(p, "memory", 6)) {
        snprintf(v1, sizeof v1, "%s", cg);
        have_v1 = 1;
      }
      p = comma ? comma + 1 : NULL;
    }
  }
  fclose(f);
  if (have_v1) {
    snprintf(path, sizeof path, "/sys/fs/cgroup/memory%s/memory.oom_control", v1);
    oom_fd = open(path, O_RDONLY | O_CLOEXEC);
  } else if (have_v2) {
    snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.events", v2);
    oom_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (oom_fd < 0) {
      snprintf(path, sizeof path, "/sys/fs/cgroup/unified%s/memory.events", v2);
      oom_fd = open(path, O_RDONLY | O_CLOEXEC);
    }
  }
  if (oom_fd >= 0) oom_base = read_oom_kill();
}

static int oom_killed(void) {
  if (oom_fd < 0 || oom_base < 0) return 0;
  long long now = read_oom_kill();
  close(oom_fd);
  oom_fd = -1;
  return now > oom_base;
}

/* ---- the end ---- */

static void write_exit_json(int status, int oom) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char when[48], json[256];
  format_time(when, sizeof when, &ts);
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  int n = snprintf(json, sizeof json, "{\"exitCode\":%d,\"signal\":%d,\"exitedAt\":\"%s\",\"oomKilled\":%s,\"pid\":%d}\n",
                   exit_code_of(status), sig, when, oom ? "true" : "false", (int)S.container_pid);
  if (write_file_atomic("exit.json", json, (size_t)n) < 0) diag("write %s/exit.json: %m", S.o.dir);
}

static void run_exit_command(void) {
  if (!S.o.exit_cmd) return;
  /* its output goes where ours goes (shim.log); it outlives us */
  struct spawn_req r = {.path = S.o.exit_cmd[0], .argv = S.o.exit_cmd, .fds = {-1, 2, 2}, .nfds = 3, .detach = 1};
  if (spawn_proc(&r) < 0) diag("exit command %s: %m", S.o.exit_cmd[0]);
}

static __attribute__((noreturn)) void container_exited(void) {
  S.exiting = 1;
  health_stop();
  io_drain();
  log_close();
  write_exit_json(exit_status, oom_killed());
  attach_close_all();
  io_cleanup();
  run_exit_command();
  exit(0);
}

void monitor_check_ready(void) {
  /* INIT_EXIT first: the engine's view of berth-init / `create` is complete before it lets go */
  if (!S.container_pid || S.monitoring || S.init_pid) return;
  /* with a terminal the master must have arrived, unless the container is already gone */
  if (!io_ready() && !exit_pending) return;
  S.monitoring = 1;
  uint32_t p = (uint32_t)S.container_pid;
  control_send(CTL_MONITORING, &p, 4);
  control_close();
  if (exit_pending) container_exited();
}

void monitor_set_pid(pid_t pid) {
  S.container_pid = pid;
  oom_setup(pid);
  for (unsigned i = 0; i < nearly && i < sizeof early / sizeof early[0]; i++)
    if (early[i].pid == pid) {
      exit_pending = 1;
      exit_status = early[i].status;
    }
  monitor_check_ready();
}

void reap_children(void) {
  for (;;) {
    int st;
    pid_t pid = waitpid(-1, &st, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;
    if (pid == S.init_pid) {
      launch_exited(st);
    } else if (health_reaped(pid)) {
    } else if (S.container_pid && pid == S.container_pid) {
      exit_pending = 1;
      exit_status = st;
      if (S.monitoring) container_exited();
      monitor_check_ready();
    } else if (!S.container_pid) {
      early[nearly % (sizeof early / sizeof early[0])].pid = pid;
      early[nearly % (sizeof early / sizeof early[0])].status = st;
      nearly++;
    }
    /* anything else: an orphan from the container's tree, now reaped */
  }
}

/* Our direct children, from /proc (the kernel lists them per thread; we have one). */
void kill_children(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
  FILE *f = fopen(path, "re");
  int pid;
  if (f) {
    while (fscanf(f, "%d", &pid) == 1) kill(pid, SIGKILL);
    fclose(f);
  }
  if (S.container_pid) kill(S.container_pid, SIGKILL);
  if (S.init_pid) kill(S.init_pid, SIGKILL);
}

void shim_abort(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  diag("%s", msg);
  control_send(CTL_ERROR, msg, (uint32_t)strlen(msg));
  kill_children();
  attach_close_all();
  io_cleanup();
  exit(1);
}
