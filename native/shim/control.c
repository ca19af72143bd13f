/*
 * The control channel: a socket inherited from the engine, alive only while the engine
 * creates the container. Frames are {u32 type, u32 len, payload}, little-endian, as on
 * berth-init's sync channel. The engine closing it before MONITORING means its create
 * failed (or it died): nothing may be left running then.
 */
#include "shim.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static struct watch ctl = {.fd = -1};
static int ctl_fd = -1;
static uint8_t inbuf[64];
static size_t inlen;

int control_open(void) { return ctl_fd >= 0; }

void control_send(uint32_t type, const void *data, uint32_t len) {
  if (ctl_fd < 0) return;
  uint8_t hdr[8];
  memcpy(hdr, &type, 4);
  memcpy(hdr + 4, &len, 4);
  /* small frames on a socket the engine reads promptly: a blocking write is fine */
  if (write_all(ctl_fd, hdr, 8) < 0 || (len && write_all(ctl_fd, data, len) < 0)) {
    if (errno != EPIPE && errno != ECONNRESET) diag("control channel: write: %m");
  }
}

void control_close(void) {
  if (ctl_fd < 0) return;
  loop_del(&ctl);
  close(ctl_fd);
  ctl_fd = -1;
}

static void on_frame(uint32_t type, const uint8_t *payload, uint32_t len) {
  if (type == CTL_PID && len == 4 && S.o.mode == RT_BUILTIN) {
    uint32_t pid;
    memcpy(&pid, payload, 4);
    if (pid == 0 || S.container_pid) shim_abort("control channel: bad or repeated PID frame");
    monitor_set_pid((pid_t)pid);
    return;
  }
  shim_abort("control channel: unexpected frame %u (length %u)", type, len);
}

static void on_control(struct watch *w, uint32_t events) {
  (void)w;
  (void)events;
  for (;;) {
    ssize_t n = recv(ctl_fd, inbuf + inlen, sizeof inbuf - inlen, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      int monitoring = S.monitoring;
      control_close();
      /* After MONITORING the engine just let go; before it, its create failed or it died. */
      if (!monitoring) shim_abort("the engine closed the control channel before the container was created");
      return;
    }
    inlen += (size_t)n;
    while (inlen >= 8) {
      uint32_t type, len;
      memcpy(&type, inbuf, 4);
      memcpy(&len, inbuf + 4, 4);
      if (len > sizeof inbuf - 8) shim_abort("control channel: frame %u too long (%u bytes)", type, len);
      if (inlen < 8 + len) break;
      on_frame(type, inbuf + 8, len);
      memmove(inbuf, inbuf + 8 + len, inlen - 8 - len);
      inlen -= 8 + len;
      if (ctl_fd < 0) return;
    }
  }
}

void control_init(void) {
  ctl_fd = S.o.control_fd;
  set_nonblock(ctl_fd, 0);
  loop_add(&ctl, ctl_fd, EPOLLIN | EPOLLRDHUP, on_control);
}
