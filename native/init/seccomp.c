/*
 * Loads the seccomp filter compiled by src/seccomp and, when the profile uses
 * SCMP_ACT_NOTIFY, hands the user-notification listener to the runtime.
 *
 * The listener exists only once the filter is loaded, which happens inside the container's
 * namespaces, as the container's user, right before execve. The agent that will receive it
 * (linux.seccomp.listenerPath) is a host path we may not be able to reach from here, so the
 * fd goes back to the Node driver, which is on the host side: C sends it over a dedicated
 * socket (SCM_RIGHTS; Node reads the sync channel with read(2), which would drop the fd),
 * then says so with a SECCOMP frame on the sync channel and waits for SECCOMP_DONE, sent
 * once the runtime has delivered it. Only sendmsg/send run between loading and delivering;
 * the compiler refuses NOTIFY rules for them, which would deadlock here.
 */
#include "init.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

int seccomp_has_listener(const struct plan *p) {
  return p->has_seccomp && (p->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
}

static void send_listener(int sock, int listener) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  char name[] = "seccompFd";
  struct iovec iov = {name, sizeof name - 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &listener, sizeof(int));
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  if (n < 0) fail("seccomp", "send the notification listener to the runtime");
}

void load_seccomp(struct init_ctx *ctx) {
  struct plan *p = &ctx->plan;
  if (ctx->seccomp_loaded) return;
  uint32_t count = p->seccomp_len / 8;
  if (count > 0xffff) failx("seccomp", "filter has %u instructions (max 65535)", count);
  struct sock_fprog prog = {(unsigned short)count, (struct sock_filter *)(uintptr_t)p->seccomp_filter};
  int listener_wanted = seccomp_has_listener(p);
  if (listener_wanted && !p->has_seccomp_listener_sock)
    failx("seccomp", "the filter has a notification listener but the plan has no socket to send it on");
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->seccomp_flags, &prog);
  if (r < 0) fail("seccomp", "load filter (%u instructions, flags 0x%x)", count, p->seccomp_flags);
  ctx->seccomp_loaded = 1;
  if (!listener_wanted) return;
  int listener = (int)r;
  send_listener(p->seccomp_listener_sock, listener);
  send_frame(ctx->sync_fd, FRAME_SECCOMP, NULL, 0);
  free(recv_frame(ctx->sync_fd, FRAME_SECCOMP_DONE, NULL));
  /* the agent has its copy; ours must not reach the container process */
  close(listener);
  close(p->seccomp_listener_sock);
  p->has_seccomp_listener_sock = 0;
}
