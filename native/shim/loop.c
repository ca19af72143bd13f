/* The event loop: one epoll set; each registered fd carries the callback that handles it. */
#include "shim.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

static int epfd = -1;
static int running;

void loop_init(void) {
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1: %m");
}

void loop_add(struct watch *w, int fd, uint32_t events, watch_fn fn) {
  w->fd = fd;
  w->events = events;
  w->fn = fn;
  struct epoll_event ev = {.events = events, .data.ptr = w};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl(ADD, %d): %m", fd);
}

void loop_mod(struct watch *w, uint32_t events) {
  if (w->fd < 0 || w->events == events) return;
  w->events = events;
  struct epoll_event ev = {.events = events, .data.ptr = w};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0) die("epoll_ctl(MOD, %d): %m", w->fd);
}

void loop_del(struct watch *w) {
  if (w->fd < 0) return;
  epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
  w->fd = -1;
}

void loop_stop(void) { running = 0; }

void loop_run(void) {
  running = 1;
  struct epoll_event evs[16];
  while (running) {
    int n = epoll_wait(epfd, evs, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait: %m");
    }
    for (int i = 0; i < n && running; i++) {
      struct watch *w = evs[i].data.ptr;
      /* A callback earlier in this batch may have unregistered (and freed) a watch: callers
       * that free watches defer it (see attach.c), and a removed one has fd -1. */
      if (w->fd >= 0) w->fn(w, evs[i].events);
    }
    attach_gc();
  }
}
