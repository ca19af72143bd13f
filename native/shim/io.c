/*
 * The container's stdio. Without a terminal: three pipes (stdin only with --stdin; otherwise
 * the container reads /dev/null), whose far ends the runtime process inherits as 0-2. With a
 * terminal: we listen on console.sock, pass that path as the console socket, and receive the
 * pty master (SCM_RIGHTS) from berth-init or the external runtime; the container's own
 * stdio is the pty slave, which we never hold.
 *
 * Output goes to the attach clients as it is read and to the json-file log; stdin comes from
 * attach clients, queued (and the clients paused) while the container does not read.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define CONSOLE_SOCK "console.sock"

static int child_fd[3] = {-1, -1, -1}; /* the container's ends of the pipes */
static struct watch out_w[3] = {{.fd = -1}, {.fd = -1}, {.fd = -1}};
static int out_fd[3] = {-1, -1, -1}; /* [1] stdout pipe or the pty master, [2] stderr pipe */
static struct watch stdin_w = {.fd = -1};
static int stdin_fd = -1;
static char *stdin_q;
static size_t stdin_qlen, stdin_qcap;
static int stdin_close_pending;
static int master = -1;
static struct watch console_w = {.fd = -1}, console_conn_w = {.fd = -1};
static int console_listen = -1, console_conn = -1;

static char readbuf[8192];
static int output_paused; /* an attach client is behind: the container's output waits */

static void close_output(int stream) {
  if (out_fd[stream] < 0) return;
  loop_del(&out_w[stream]);
  if (out_fd[stream] == master) master = -1;
  close(out_fd[stream]);
  out_fd[stream] = -1;
  log_eof(stream);
}

/* Reads once; returns 1 on data, 0 on EAGAIN, -1 at the end of the stream. */
static int read_output(int stream) {
  ssize_t n;
  do n = read(out_fd[stream], readbuf, sizeof readbuf); while (n < 0 && errno == EINTR);
  if (n > 0) {
    attach_broadcast(stream, readbuf, (size_t)n);
    log_feed(stream, readbuf, (size_t)n);
    return 1;
  }
  if (n < 0 && errno == EAGAIN) return 0;
  /* 0: the last writer closed the pipe; EIO: every pty slave fd is closed */
  close_output(stream);
  return -1;
}

static void on_output(struct watch *w, uint32_t events) {
  (void)events;
  int stream = w == &out_w[STREAM_STDOUT] ? STREAM_STDOUT : STREAM_STDERR;
  /* a bounded number of reads per wakeup keeps one chatty stream from starving the rest;
   * paused (a slow attach client) we still get HUP, which the next read turns into EOF */
  for (int i = 0; i < 8 && out_fd[stream] >= 0; i++) {
    if (read_output(stream) <= 0) break;
    if (output_paused) break;
  }
}

static void watch_output(int stream, int fd) {
  set_nonblock(fd, 1);
  out_fd[stream] = fd;
  loop_add(&out_w[stream], fd, output_paused ? 0 : EPOLLIN, on_output);
}

void io_pause_output(int paused) {
  output_paused = paused;
  for (int s = STREAM_STDOUT; s <= STREAM_STDERR; s++)
    if (out_fd[s] >= 0) loop_mod(&out_w[s], paused ? 0 : EPOLLIN);
}

/* ---- stdin ---- */

static void stdin_really_close(void) {
  if (stdin_fd < 0) return;
  loop_del(&stdin_w);
  close(stdin_fd);
  stdin_fd = -1;
  stdin_qlen = 0;
  stdin_close_pending = 0;
  attach_stdin_ready(1);
}

static int stdin_flush(void) {
  while (stdin_qlen > 0) {
    ssize_t n = write(stdin_fd, stdin_q, stdin_qlen);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return 0;
    if (n < 0) {
      /* EPIPE: the container closed its stdin; EIO: the pty is gone */
      stdin_really_close();
      return -1;
    }
    memmove(stdin_q, stdin_q + n, stdin_qlen - (size_t)n);
    stdin_qlen -= (size_t)n;
  }
  return 1;
}

static void update_stdin_watch(void) {
  if (stdin_fd < 0) return;
  loop_mod(&stdin_w, stdin_qlen ? EPOLLOUT : 0);
  attach_stdin_ready(stdin_qlen == 0);
}

static void on_stdin_writable(struct watch *w, uint32_t events) {
  (void)w;
  if (events & (EPOLLERR | EPOLLHUP)) {
    stdin_really_close();
    return;
  }
  if (stdin_flush() < 0) return;
  if (stdin_qlen == 0 && stdin_close_pending) {
    stdin_really_close();
    return;
  }
  update_stdin_watch();
}

static void watch_stdin(int fd) {
  set_nonblock(fd, 1);
  stdin_fd = fd;
  loop_add(&stdin_w, fd, 0, on_stdin_writable);
}

int io_stdin_open(void) { return stdin_fd >= 0 && !stdin_close_pending; }
int io_stdin_busy(void) { return stdin_qlen > 0; }

int io_write_stdin(const char *data, size_t len) {
  if (!io_stdin_open()) return -1;
  if (stdin_qlen + len > stdin_qcap) {
    stdin_qcap = stdin_qlen + len;
    stdin_q = xrealloc(stdin_q, stdin_qcap);
  }
  memcpy(stdin_q + stdin_qlen, data, len);
  stdin_qlen += len;
  if (stdin_flush() < 0) return -1;
  update_stdin_watch();
  return 0;
}

void io_close_stdin(void) {
  /* Closing a pty "stdin" would hang up the terminal: only pipes are closed (docker too). */
  if (S.o.terminal || stdin_fd < 0) return;
  if (stdin_qlen) stdin_close_pending = 1;
  else stdin_really_close();
}

void io_resize(unsigned rows, unsigned cols) {
  if (master < 0) return;
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  if (ioctl(master, TIOCSWINSZ, &ws) < 0) diag("resize the terminal to %ux%u: %m", rows, cols);
}

/* ---- console socket (terminal) ---- */

static void console_done(void) {
  if (console_conn >= 0) {
    loop_del(&console_conn_w);
    close(console_conn);
    console_conn = -1;
  }
  if (console_listen >= 0) {
    loop_del(&console_w);
    close(console_listen);
    console_listen = -1;
    unlink(CONSOLE_SOCK);
  }
}

static void on_console_conn(struct watch *w, uint32_t events) {
  (void)w;
  (void)events;
  char data[256];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {data, sizeof data};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  ssize_t n;
  do n = recvmsg(console_conn, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return;
  int fd = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); n > 0 && c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int)))
      memcpy(&fd, CMSG_DATA(c), sizeof fd);
  if (fd < 0 || !isatty(fd)) {
    /* not the runtime (or a broken one): drop this connection, keep listening */
    if (fd >= 0) close(fd);
    diag("console socket: a connection without a terminal fd");
    loop_del(&console_conn_w);
    close(console_conn);
    console_conn = -1;
    return;
  }
  master = fd;
  console_done();
  watch_output(STREAM_STDOUT, master);
  if (S.o.stdin_open) {
    int w2 = fcntl(master, F_DUPFD_CLOEXEC, 3);
    if (w2 < 0) shim_abort("dup the pty master: %m");
    watch_stdin(w2); /* its own fd (same file) so that epoll tracks reading and writing apart */
  }
  monitor_check_ready();
}

static void on_console_listen(struct watch *w, uint32_t events) {
  (void)w;
  (void)events;
  int c = accept4(console_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0) return;
  if (console_conn >= 0) { /* one runtime sends one master; refuse extra peers */
    close(c);
    return;
  }
  console_conn = c;
  loop_add(&console_conn_w, c, EPOLLIN | EPOLLRDHUP, on_console_conn);
}

static void listen_console(void) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, CONSOLE_SOCK); /* relative: our cwd is the container directory */
  unlink(CONSOLE_SOCK);
  console_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (console_listen < 0) shim_abort("console socket: %m");
  if (bind(console_listen, (struct sockaddr *)&sa, sizeof sa) < 0) shim_abort("bind %s/%s: %m", S.o.dir, CONSOLE_SOCK);
  /* berth-init connects as root before it switches user; runc as the caller */
  chmod(CONSOLE_SOCK, 0600);
  if (listen(console_listen, 1) < 0) shim_abort("listen on %s: %m", CONSOLE_SOCK);
  loop_add(&console_w, console_listen, EPOLLIN, on_console_listen);
}

/* ---- setup and teardown ---- */

void io_setup(void) {
  if (S.o.terminal) {
    listen_console();
    return;
  }
  int p[2];
  if (S.o.stdin_open) {
    if (pipe2(p, O_CLOEXEC) < 0) shim_abort("pipe: %m");
    child_fd[0] = p[0];
    watch_stdin(p[1]);
  }
  for (int s = STREAM_STDOUT; s <= STREAM_STDERR; s++) {
    if (pipe2(p, O_CLOEXEC) < 0) shim_abort("pipe: %m");
    child_fd[s] = p[1];
    watch_output(s, p[0]);
  }
}

void io_child_fds(int fds[3]) {
  for (int i = 0; i < 3; i++) fds[i] = child_fd[i];
}

void io_after_spawn(void) {
  for (int i = 0; i < 3; i++) {
    if (child_fd[i] >= 0) close(child_fd[i]);
    child_fd[i] = -1;
  }
}

int io_ready(void) { return !S.o.terminal || master >= 0; }

void io_drain(void) {
  /* Normally EOF (or EIO) follows at once: when the container's init dies, the kernel has
   * already killed the rest of its pid namespace. A process outside it (shared pid
   * namespace) may still hold the pipe; we do not wait for it longer than this. */
  long long deadline = monotonic_ms() + 2000;
  for (int s = STREAM_STDOUT; s <= STREAM_STDERR; s++) {
    while (out_fd[s] >= 0) {
      int r = read_output(s);
      if (r != 0) continue;
      long long left = deadline - monotonic_ms();
      if (left <= 0) break;
      struct pollfd pf = {out_fd[s], POLLIN, 0};
      if (poll(&pf, 1, (int)left) == 0) break;
    }
    close_output(s);
  }
}

void io_cleanup(void) {
  console_done();
  stdin_really_close();
  for (int s = STREAM_STDOUT; s <= STREAM_STDERR; s++) {
    if (out_fd[s] >= 0) {
      if (out_fd[s] == master) master = -1;
      loop_del(&out_w[s]);
      close(out_fd[s]);
      out_fd[s] = -1;
    }
  }
  io_after_spawn();
}
