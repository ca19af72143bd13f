/*
 * Health checks: the shim only schedules them. It runs the engine's check command (e.g.
 * `berth --root R healthcheck run ID`, which execs the user's test in the container, applies
 * docker's timeout/retries/start-period rules and records the result in the container's
 * record) and reaps it; it records nothing itself, so the rules live in one place, in
 * TypeScript, and the same command serves `docker healthcheck`-style manual runs.
 *
 * Schedule (docker's): nothing until the engine reports the container started (STARTED on
 * the attach socket); then one check every start-interval during the start period and every
 * interval after it, each counted from the end of the previous check, never two at once. A
 * check still running after --health-timeout is killed with its process group (a safety
 * net: the command enforces the user's timeout itself and reports it).
 */
#include "shim.h"

#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

static struct watch timer_w = {.fd = -1};
static int timer_fd = -1;
static pid_t check_pid;
static long long started_ms;
static int active;

static void arm(long long ms) {
  struct itimerspec its = {.it_value = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000}};
  if (ms <= 0) its.it_value.tv_nsec = 1; /* zero would disarm */
  if (timerfd_settime(timer_fd, 0, &its, NULL) < 0) diag("health check timer: %m");
}

static long long next_delay(void) {
  if (S.o.health_start_period_ms > 0 && monotonic_ms() - started_ms < S.o.health_start_period_ms)
    return S.o.health_start_interval_ms;
  return S.o.health_interval_ms;
}

static void run_check(void) {
  struct spawn_req r = {.path = S.o.health_cmd[0], .argv = S.o.health_cmd, .fds = {-1, 2, 2}, .nfds = 3, .new_session = 1};
  pid_t pid = spawn_proc(&r);
  if (pid < 0) {
    diag("health check %s: %m", S.o.health_cmd[0]);
    arm(next_delay());
    return;
  }
  check_pid = pid;
  arm(S.o.health_timeout_ms);
}

static void on_timer(struct watch *w, uint32_t events) {
  (void)w;
  (void)events;
  uint64_t ticks;
  if (read(timer_fd, &ticks, sizeof ticks) < 0 && errno == EAGAIN) return;
  if (!active || S.exiting) return;
  if (check_pid) {
    /* its own session: the group holds whatever it started */
    diag("health check %d still running after %lld ms: killed", (int)check_pid, S.o.health_timeout_ms);
    kill(-check_pid, SIGKILL);
    return; /* the next one is scheduled when it is reaped */
  }
  run_check();
}

void health_init(void) {
  if (!S.o.health_cmd) return;
  timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd < 0) shim_abort("timerfd_create: %m");
  loop_add(&timer_w, timer_fd, EPOLLIN, on_timer);
}

void health_start(void) {
  if (!S.o.health_cmd || active || S.exiting) return;
  active = 1;
  started_ms = monotonic_ms();
  arm(next_delay());
}

int health_reaped(pid_t pid) {
  if (!check_pid || pid != check_pid) return 0;
  check_pid = 0;
  if (active && !S.exiting) arm(next_delay());
  return 1;
}

void health_stop(void) {
  active = 0;
  if (check_pid) kill(-check_pid, SIGKILL);
  if (timer_fd >= 0) {
    loop_del(&timer_w);
    close(timer_fd);
    timer_fd = -1;
  }
}
