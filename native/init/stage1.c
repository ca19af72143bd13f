/*
 * Stage 1 ("P"): runs in the caller's namespaces. It connects the console socket (a host path),
 * joins namespaces given by path (the user namespace first, so that the others are joined
 * with its privileges), enters a new time namespace (only unshare() can), prepares idmapped
 * mount user namespaces, then clone()s the container process C with the CLONE_NEW* flags and
 * reports C's host pid. Without --foreground it exits at once; with it, it waits for C,
 * forwarding signals, and exits with C's status (proxying the pty when it holds the master).
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static int connect_console_socket(const char *path) {
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sa.sun_path) failx("console", "socket path %s is too long", path);
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("console", "socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) fail("console", "connect %s", path);
  return fd;
}

static const char *ns_name(uint32_t type) {
  switch (type) {
  case CLONE_NEWUSER: return "user";
  case CLONE_NEWNS: return "mnt";
  case CLONE_NEWPID: return "pid";
  case CLONE_NEWNET: return "net";
  case CLONE_NEWUTS: return "uts";
  case CLONE_NEWIPC: return "ipc";
  case CLONE_NEWCGROUP: return "cgroup";
  case CLONE_NEWTIME: return "time";
  default: return "?";
  }
}

/* setns into `fd` unless we are already there (joining one's own user namespace is EINVAL). */
static void join_fd(int fd, uint32_t type, const char *what) {
  char self[64];
  snprintf(self, sizeof self, "/proc/self/ns/%s", ns_name(type));
  struct stat a, b;
  if (fstat(fd, &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) return;
  if (setns(fd, (int)type) < 0) fail("namespaces", "setns %s (%s)", what, ns_name(type));
}

/* Opens every namespace first (paths under /proc/PID change meaning once we move), then joins
 * user first and mount last: the user namespace grants the capabilities the other joins need,
 * and leaving the mount namespace for last keeps the paths above valid. */
static void join_namespaces(struct plan_nsjoin *ns, int n) {
  static const uint32_t order[] = {CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID,
                                   CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWNS};
  int *fds = xmalloc(sizeof(int) * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++) {
    fds[i] = open(ns[i].path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) fail("namespaces", "open %s (%s namespace)", ns[i].path, ns_name(ns[i].type));
  }
  for (size_t o = 0; o < sizeof order / sizeof order[0]; o++)
    for (int i = 0; i < n; i++)
      if (ns[i].type == order[o]) {
        join_fd(fds[i], ns[i].type, ns[i].path);
        close(fds[i]);
      }
  free(fds);
}

static void join_container(struct plan *p) {
  static const uint32_t all[] = {CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID,
                                 CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWNS};
  struct plan_nsjoin ns[8];
  char paths[8][64];
  int n = 0;
  for (size_t i = 0; i < 8; i++) {
    snprintf(paths[n], sizeof paths[n], "/proc/%u/ns/%s", p->join_pid, ns_name(all[i]));
    if (access(paths[n], F_OK) < 0) {
      if (errno == ENOENT && (all[i] == CLONE_NEWTIME || all[i] == CLONE_NEWCGROUP)) continue; /* old kernel */
      fail("exec", "container process %u is gone", p->join_pid);
    }
    ns[n].type = all[i];
    ns[n].path = paths[n];
    n++;
  }
  join_namespaces(ns, n);
}

static void enter_time_namespace(struct plan *p) {
  if (unshare(CLONE_NEWTIME) < 0) fail("timens", "unshare(CLONE_NEWTIME)");
  if (p->timens_offsets && *p->timens_offsets && write_file("/proc/self/timens_offsets", p->timens_offsets) < 0)
    fail("timens", "write /proc/self/timens_offsets");
}

struct child_arg {
  struct init_ctx *ctx;
};

static int child_main(void *arg) {
  struct init_ctx *ctx = ((struct child_arg *)arg)->ctx;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Every container process leads a session and a process group of its own (runc does the
   * same in nsexec): it must not share the caller's controlling terminal (TIOCSTI would push
   * input into the operator's shell) nor its process group (`kill 0` inside would signal
   * host processes). A fresh session has no controlling terminal; setup_console gives a
   * process.terminal one its pty. C is never a group leader here, so this cannot fail. */
  if (setsid() < 0) fail("session", "setsid");
  run_container(ctx);
}

static struct termios saved_tio;
static int tio_saved;

static void restore_tty(void) {
  if (tio_saved) tcsetattr(0, TCSANOW, &saved_tio);
}

static void copy_winsize(int master) {
  struct winsize ws;
  if (master >= 0 && ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
}

static int pump(int from, int to) {
  char buf[8192];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0) return -1;
  write_all(to, buf, (size_t)n);
  return 0;
}

static __attribute__((noreturn)) void exit_like(int status) {
  restore_tty();
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) _exit(128 + WTERMSIG(status));
  _exit(1);
}

/* Foreground: wait for C, forward signals, and proxy the pty when we hold its master. */
static __attribute__((noreturn)) void wait_foreground(pid_t child, int sigfd, int console_peer) {
  int master = -1, in_open = 1;
  for (;;) {
    struct pollfd pf[3];
    int n = 0;
    pf[n++] = (struct pollfd){sigfd, POLLIN, 0};
    int i_console = -1, i_master = -1, i_in = -1;
    if (console_peer >= 0) i_console = n, pf[n++] = (struct pollfd){console_peer, POLLIN, 0};
    if (master >= 0) {
      i_master = n, pf[n++] = (struct pollfd){master, POLLIN, 0};
      if (in_open) i_in = n, pf[n++] = (struct pollfd){0, POLLIN, 0};
    }
    if (poll(pf, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      fail("foreground", "poll");
    }
    if (pf[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD) {
          int status;
          pid_t r = waitpid(child, &status, WNOHANG);
          if (r == child) {
            if (master >= 0) {
              fcntl(master, F_SETFL, O_NONBLOCK);
              while (pump(master, 1) == 0) {
              }
            }
            exit_like(status);
          }
        } else if (si.ssi_signo == SIGWINCH) {
          copy_winsize(master);
        } else {
          kill(child, (int)si.ssi_signo);
        }
      }
    }
    if (i_console >= 0 && (pf[i_console].revents & (POLLIN | POLLHUP))) {
      master = recv_fd(console_peer);
      close(console_peer);
      console_peer = -1;
      if (master >= 0 && isatty(0) && tcgetattr(0, &saved_tio) == 0) {
        struct termios raw = saved_tio;
        cfmakeraw(&raw);
        tio_saved = tcsetattr(0, TCSANOW, &raw) == 0;
        copy_winsize(master);
      }
    }
    if (i_master >= 0 && (pf[i_master].revents & (POLLIN | POLLHUP | POLLERR))) {
      if (pump(master, 1) < 0) {
        close(master);
        master = -1; /* EIO: all slave fds closed; wait for SIGCHLD */
      }
    }
    if (i_in >= 0 && (pf[i_in].revents & (POLLIN | POLLHUP))) {
      if (pump(0, master) < 0) in_open = 0;
    }
  }
}

void run_stage1(struct init_ctx *ctx) {
  struct plan *p = &ctx->plan;
  int console_peer = -1;
  if (p->console_socket) {
    ctx->console_fd = connect_console_socket(p->console_socket);
  } else if ((p->flags & PF_TERMINAL) && (p->flags & PF_FOREGROUND)) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) fail("console", "socketpair");
    console_peer = sv[0];
    ctx->console_fd = sv[1];
    ctx->proxy_pty = 1;
  }

  if (p->mode == MODE_CREATE && p->exec_fifo) {
    /* Opened here, as the caller's user: the state directory holding it need not be
     * reachable by the container's (possibly mapped) root. O_PATH now; C reopens it for
     * writing through the host /proc at start. */
    ctx->fifo_fd = open(p->exec_fifo, O_PATH | O_CLOEXEC);
    if (ctx->fifo_fd < 0) fail("exec fifo", "open %s", p->exec_fifo);
    ctx->host_proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ctx->host_proc < 0) fail("exec fifo", "open /proc");
  }
  uint32_t clone_flags = p->clone_flags;
  if (p->mode == MODE_EXEC) {
    join_container(p);
    clone_flags = 0;
  } else {
    join_namespaces(p->nsjoin, p->nnsjoin);
  }
  if (clone_flags & CLONE_NEWTIME) {
    enter_time_namespace(p);
    clone_flags &= ~(uint32_t)CLONE_NEWTIME;
  }
  for (int i = 0; i < p->nmounts; i++)
    if (p->mounts[i].has_idmap && (p->mounts[i].nuid_maps || p->mounts[i].ngid_maps)) make_idmap_userns(&p->mounts[i]);
  /* C's root is the mapped root of a new user namespace, which may not reach a bind source
   * (a 0700 parent directory): take them here, as the caller, like runc's mount sources. */
  if (p->mode == MODE_CREATE && (clone_flags & CLONE_NEWUSER))
    for (int i = 0; i < p->nmounts; i++)
      if (p->mounts[i].kind == MK_BIND && !p->mounts[i].has_idmap) clone_bind_source(&p->mounts[i]);

  /* Blocked before clone so none is lost; C unblocks them first thing. */
  sigset_t fwd;
  sigfillset(&fwd);
  sigdelset(&fwd, SIGKILL);
  sigdelset(&fwd, SIGSTOP);
  sigdelset(&fwd, SIGSEGV);
  sigdelset(&fwd, SIGBUS);
  sigdelset(&fwd, SIGILL);
  sigdelset(&fwd, SIGFPE);
  int foreground = (p->flags & PF_FOREGROUND) != 0;
  if (foreground) sigprocmask(SIG_BLOCK, &fwd, NULL);

  size_t stack_size = 1 << 20;
  char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) fail("clone", "mmap stack");
  static struct child_arg arg;
  arg.ctx = ctx;
  pid_t child = clone(child_main, stack + stack_size, (int)clone_flags | SIGCHLD, &arg);
  if (child < 0) fail("clone", "clone(0x%x)", clone_flags);
  if (console_peer < 0 && ctx->console_fd >= 0) close(ctx->console_fd); /* C owns the console socket now */
  if (p->has_seccomp_listener_sock) close(p->seccomp_listener_sock);  /* and the seccomp listener socket */
  if (ctx->proxy_pty) close(ctx->console_fd);

  uint32_t pid32 = (uint32_t)child;
  send_frame(ctx->sync_fd, FRAME_PID, &pid32, 4);
  if (!foreground) _exit(0);
  /* Only C talks on the channel from now on; Node learns of C's execve by the EOF. */
  close(ctx->sync_fd);
  set_sync_fd(-1);
  int sigfd = signalfd(-1, &fwd, SFD_CLOEXEC);
  if (sigfd < 0) {
    kill(child, SIGKILL);
    fail("foreground", "signalfd");
  }
  wait_foreground(child, sigfd, console_peer);
}
