/*
 * The attach socket (<dir>/attach.sock): any number of clients, each of which sends a HELLO
 * naming the streams it wants and whether it sends stdin, gets an ATTACHED frame back (after
 * which no output is missed: the engine attaches before it starts the container), and then
 * the container's output as it is read: docker's multiplexed framing without a terminal,
 * raw bytes with one. Clients send stdin data, stdin close, terminal resizes, and STARTED
 * (the engine started the container: health checks begin). A client that disconnects just
 * goes away; the container does not notice. Formats: PROTOCOL.md.
 *
 * Backpressure as docker's: while a client has more than HIGH_WATER bytes queued, the
 * container's output is not read (it blocks in write, the log waits too), so a slow reader
 * still gets every byte. A client that takes nothing for STALL_MS while it holds the
 * container up is disconnected: one stalled reader must not freeze a container forever.
 * While the container does not read its stdin, clients that send stdin are not read.
 */
#include "shim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define ATTACH_SOCK "attach.sock"
#define HIGH_WATER (256u << 10)
#define LOW_WATER (64u << 10)
#define STALL_MS 5000

/* As in src/engine/shim/protocol.ts (test/unit/native-constants.test.ts compares them). */
enum { MSG_HELLO = 1, MSG_STDIN = 2, MSG_STDIN_CLOSE = 3, MSG_RESIZE = 4, MSG_STARTED = 5, MSG_ATTACHED = 0x80 };
enum { WANT_STDOUT = 1, WANT_STDERR = 2, WANT_STDIN = 4 };
enum { ACK_TTY = 1, ACK_STDIN = 2 };

struct client {
  struct watch w;
  int fd;
  int hello;
  uint8_t want;
  int paused;      /* not read while the container's stdin is full */
  int read_closed; /* the client shut down its sending side */
  uint8_t hdr[8];
  size_t hdrlen;
  uint8_t type;
  uint32_t remaining;  /* payload bytes still to come for the current message */
  uint8_t small[16];   /* payload of a control message */
  size_t smalllen;
  char *out;
  size_t outlen, outcap;
  int blocked; /* over HIGH_WATER: the container's output waits for this client */
  long long last_progress_ms;
  struct client *next;
};

static struct watch listen_w = {.fd = -1};
static int listen_fd = -1;
static struct client *clients, *dead;
static int stdin_ready = 1;
static int nblocked;
static struct watch stall_w = {.fd = -1};
static int stall_fd = -1;

static void arm_stall_timer(int on) {
  if (stall_fd < 0) return;
  struct itimerspec its = {{0, 0}, {0, 0}};
  if (on) its.it_interval.tv_sec = its.it_value.tv_sec = 1;
  timerfd_settime(stall_fd, 0, &its, NULL);
}

static void set_blocked(struct client *c, int blocked) {
  if (c->blocked == blocked) return;
  c->blocked = blocked;
  nblocked += blocked ? 1 : -1;
  if (blocked) c->last_progress_ms = monotonic_ms();
  if (blocked && nblocked == 1) {
    io_pause_output(1);
    arm_stall_timer(1);
  } else if (!blocked && nblocked == 0) {
    io_pause_output(0);
    arm_stall_timer(0);
  }
}

/* Hysteresis: block above HIGH_WATER, release at LOW_WATER. */
static void account(struct client *c) {
  if (c->fd < 0 || c->outlen <= LOW_WATER) set_blocked(c, 0);
  else if (c->outlen > HIGH_WATER) set_blocked(c, 1);
}

static void update_events(struct client *c) {
  uint32_t ev = c->outlen ? EPOLLOUT : 0;
  if (!c->paused && !c->read_closed) ev |= EPOLLIN | EPOLLRDHUP;
  loop_mod(&c->w, ev);
}

static void drop(struct client *c) {
  for (struct client **pp = &clients; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  loop_del(&c->w);
  close(c->fd);
  c->fd = -1;
  account(c);
  /* freed after the current batch of events: a later event in it may still point here */
  c->next = dead;
  dead = c;
}

void attach_gc(void) {
  while (dead) {
    struct client *c = dead;
    dead = c->next;
    free(c->out);
    free(c);
  }
}

/* Sends a then b (either may be empty), queueing what the socket does not take now. */
static void client_send(struct client *c, const void *a, size_t alen, const void *b, size_t blen) {
  size_t sent = 0;
  if (c->outlen == 0) {
    struct iovec iov[2] = {{(void *)a, alen}, {(void *)b, blen}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n;
    do n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT); while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN) {
      drop(c);
      return;
    }
    if (n > 0) sent = (size_t)n;
  }
  size_t total = alen + blen;
  if (sent == total) return;
  size_t rest = total - sent;
  if (c->outlen + rest > c->outcap) {
    c->outcap = c->outlen + rest + 4096;
    c->out = xrealloc(c->out, c->outcap);
  }
  if (sent < alen) {
    memcpy(c->out + c->outlen, (const char *)a + sent, alen - sent);
    c->outlen += alen - sent;
    if (blen) memcpy(c->out + c->outlen, b, blen);
    c->outlen += blen;
  } else {
    memcpy(c->out + c->outlen, (const char *)b + (sent - alen), total - sent);
    c->outlen += total - sent;
  }
  update_events(c);
  account(c);
}

static int flush_out(struct client *c) {
  while (c->outlen > 0) {
    ssize_t n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) return -1;
    memmove(c->out, c->out + n, c->outlen - (size_t)n);
    c->outlen -= (size_t)n;
    c->last_progress_ms = monotonic_ms();
  }
  account(c);
  if (c->outlen == 0 && c->outcap > 65536) { /* give back a burst's buffer */
    free(c->out);
    c->out = NULL;
    c->outcap = 0;
  }
  update_events(c);
  return 0;
}

void attach_broadcast(int stream, const char *data, size_t len) {
  uint8_t hdr[8] = {(uint8_t)stream, 0, 0, 0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
  uint8_t bit = stream == STREAM_STDERR ? WANT_STDERR : WANT_STDOUT;
  struct client *next;
  for (struct client *c = clients; c; c = next) {
    next = c->next; /* client_send may drop c */
    if (!c->hello || !(c->want & bit)) continue;
    if (S.o.terminal) client_send(c, NULL, 0, data, len);
    else client_send(c, hdr, 8, data, len);
  }
}

void attach_stdin_ready(int ready) {
  if (stdin_ready == ready) return;
  stdin_ready = ready;
  for (struct client *c = clients; c; c = c->next) {
    if (!(c->want & WANT_STDIN)) continue;
    c->paused = !ready;
    update_events(c);
  }
}

static void on_message(struct client *c) {
  switch (c->type) {
  case MSG_HELLO: {
    if (c->hello || c->smalllen < 2 || c->small[0] != 1) {
      drop(c);
      return;
    }
    c->hello = 1;
    c->want = c->small[1] & (WANT_STDOUT | WANT_STDERR | WANT_STDIN);
    /* stdin only if the container was started with it open (docker -i) */
    if (!io_stdin_open()) c->want &= (uint8_t)~WANT_STDIN;
    uint8_t ack[9] = {MSG_ATTACHED, 0, 0, 0, 0, 0, 0, 1, 0};
    ack[8] = (uint8_t)((S.o.terminal ? ACK_TTY : 0) | (c->want & WANT_STDIN ? ACK_STDIN : 0));
    client_send(c, ack, sizeof ack, NULL, 0);
    if (c->fd >= 0 && (c->want & WANT_STDIN) && !stdin_ready) {
      c->paused = 1;
      update_events(c);
    }
    return;
  }
  case MSG_STDIN_CLOSE:
    if (c->want & WANT_STDIN) {
      c->want &= (uint8_t)~WANT_STDIN;
      if (S.o.stdin_once) io_close_stdin();
    }
    return;
  case MSG_RESIZE:
    if (c->smalllen == 4) io_resize((unsigned)(c->small[0] << 8 | c->small[1]), (unsigned)(c->small[2] << 8 | c->small[3]));
    return;
  case MSG_STARTED:
    health_start();
    return;
  default:
    drop(c);
  }
}

/* Feeds bytes read from a client through the message parser. */
static void parse(struct client *c, const uint8_t *p, size_t n) {
  while (n > 0 && c->fd >= 0) {
    if (c->hdrlen < 8) {
      size_t k = 8 - c->hdrlen < n ? 8 - c->hdrlen : n;
      memcpy(c->hdr + c->hdrlen, p, k);
      c->hdrlen += k;
      p += k;
      n -= k;
      if (c->hdrlen < 8) return;
      c->type = c->hdr[0];
      c->remaining = (uint32_t)c->hdr[4] << 24 | (uint32_t)c->hdr[5] << 16 | (uint32_t)c->hdr[6] << 8 | c->hdr[7];
      c->smalllen = 0;
      if (!c->hello && c->type != MSG_HELLO) { /* HELLO comes first */
        drop(c);
        return;
      }
      if (c->type != MSG_STDIN && c->remaining > sizeof c->small) {
        drop(c);
        return;
      }
    }
    size_t k = c->remaining < n ? c->remaining : n;
    if (c->type == MSG_STDIN) {
      if (k && (c->want & WANT_STDIN) && io_write_stdin((const char *)p, k) < 0) c->want &= (uint8_t)~WANT_STDIN;
    } else {
      memcpy(c->small + c->smalllen, p, k);
      c->smalllen += k;
    }
    p += k;
    n -= k;
    c->remaining -= (uint32_t)k;
    if (c->remaining == 0) {
      c->hdrlen = 0;
      if (c->type != MSG_STDIN) on_message(c);
    }
  }
}

static void on_client(struct watch *w, uint32_t events) {
  struct client *c = (struct client *)w; /* the watch is the first member */
  if ((events & EPOLLOUT) && flush_out(c) < 0) {
    drop(c);
    return;
  }
  /* HUP: the client is gone (both directions); RDHUP: it will send nothing more but may
   * still read (e.g. after its stdin ended), so it stays for the output. */
  int hup = (events & (EPOLLHUP | EPOLLERR)) != 0;
  int rdhup = (events & EPOLLRDHUP) != 0;
  if (!c->read_closed && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && (!c->paused || hup)) {
    uint8_t buf[8192];
    /* at a hangup take what is left in the socket (even while paused): it is bounded */
    for (int i = 0; i < (hup || rdhup ? 64 : 1) && c->fd >= 0; i++) {
      ssize_t n;
      do n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT); while (n < 0 && errno == EINTR);
      if (n < 0 && errno == EAGAIN) break;
      if (n < 0) {
        drop(c);
        return;
      }
      if (n == 0) {
        c->read_closed = 1;
        break;
      }
      parse(c, buf, (size_t)n);
    }
  }
  if (c->fd < 0) return;
  if (hup) {
    drop(c);
    return;
  }
  update_events(c);
}

static void on_accept(struct watch *w, uint32_t events) {
  (void)w;
  (void)events;
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    /* The directory is 0700, but check the peer too: only root or our own user. */
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || (cred.uid != 0 && cred.uid != geteuid())) {
      close(fd);
      continue;
    }
    struct client *c = calloc(1, sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    c->fd = fd;
    c->next = clients;
    clients = c;
    loop_add(&c->w, fd, EPOLLIN | EPOLLRDHUP, on_client);
  }
}

static void on_stall_timer(struct watch *w, uint32_t events) {
  (void)w;
  (void)events;
  uint64_t ticks;
  if (read(stall_fd, &ticks, sizeof ticks) < 0) return;
  long long now = monotonic_ms();
  struct client *next;
  for (struct client *c = clients; c; c = next) {
    next = c->next;
    if (c->blocked && now - c->last_progress_ms >= STALL_MS) {
      diag("an attach client has read nothing for %d s while the container waits for it: disconnected", STALL_MS / 1000);
      drop(c);
    }
  }
}

void attach_listen(void) {
  stall_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (stall_fd < 0) shim_abort("timerfd_create: %m");
  loop_add(&stall_w, stall_fd, EPOLLIN, on_stall_timer);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, ATTACH_SOCK); /* relative to the container directory (our cwd) */
  unlink(ATTACH_SOCK);
  listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd < 0) shim_abort("attach socket: %m");
  if (bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0) shim_abort("bind %s/%s: %m", S.o.dir, ATTACH_SOCK);
  chmod(ATTACH_SOCK, 0600);
  if (listen(listen_fd, 64) < 0) shim_abort("listen on %s: %m", ATTACH_SOCK);
  loop_add(&listen_w, listen_fd, EPOLLIN, on_accept);
}

void attach_close_all(void) {
  if (listen_fd >= 0) {
    loop_del(&listen_w);
    close(listen_fd);
    listen_fd = -1;
    unlink(ATTACH_SOCK);
  }
  /* Hand every client what is queued for it (bounded wait), then close: EOF tells it the
   * container has exited. */
  while (clients) {
    struct client *c = clients;
    /* Unread input at close() makes the kernel report ECONNRESET instead of EOF to the
     * client: discard what it sent (stdin for a container that is gone). */
    char sink[4096];
    while (recv(c->fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
    }
    if (c->outlen) {
      set_nonblock(c->fd, 0);
      struct timeval tv = {5, 0};
      setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      size_t off = 0;
      while (off < c->outlen) {
        ssize_t n = send(c->fd, c->out + off, c->outlen - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        off += (size_t)n;
      }
      c->outlen = 0;
    }
    drop(c);
  }
  attach_gc();
}
