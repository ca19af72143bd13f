/*
 * process.terminal: a pty from the container's own devpts instance. The master goes to the
 * console socket (runc semantics: one SCM_RIGHTS message) or to stage 1, which proxies it;
 * the slave becomes fds 0-2 and the controlling terminal of C's session. The slave is
 * reached with TIOCGPTPEER, not by path, so nothing in the container can substitute another
 * file.
 */
#include "init.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

void send_fd(int sock, int fd, const char *name) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {(void *)name, strlen(name)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) fail("console", "send the pty master");
}

int recv_fd(int sock) {
  char cbuf[CMSG_SPACE(sizeof(int))], data[256];
  struct iovec iov = {data, sizeof data};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

void setup_console(struct init_ctx *ctx) {
  struct plan *p = &ctx->plan;
  if (ctx->console_fd < 0) failx("console", "process.terminal is set but there is no console socket");
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail("console", "open /dev/ptmx (is /dev/pts mounted?)");
  if (unlockpt(master) < 0) fail("console", "unlockpt");
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) fail("console", "open the pty slave");
  /* The process owns its terminal, as with runc and login(1): a non-root user must be able to
   * chmod it (mesg, ssh-style tools) and its group stays devpts' tty group. */
  if (fchown(slave, p->uid, (gid_t)-1) < 0) fail("console", "give the pty to uid %u", p->uid);
  if (p->has_console_size) {
    struct winsize ws = {.ws_row = (unsigned short)p->console_rows, .ws_col = (unsigned short)p->console_cols};
    if (ioctl(slave, TIOCSWINSZ, &ws) < 0) fail("console", "set the console size");
  }
  char name[64] = "/dev/pts/?";
  ptsname_r(master, name, sizeof name);
  send_fd(ctx->console_fd, master, name);
  close(master);
  close(ctx->console_fd);
  ctx->console_fd = -1;
  /* C already leads its own session (stage1.c), which has no controlling terminal yet */
  if (ioctl(slave, TIOCSCTTY, 0) < 0) fail("console", "make the pty the controlling terminal");
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0) fail("console", "dup2 the pty slave to fd %d", i);
  if (slave > 2) close(slave);
}
