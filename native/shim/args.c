/*
 * The command line (see PROTOCOL.md). Every option takes its value as the next argument,
 * verbatim, so values may start with "-" (e.g. an exit command's own flags). Repeated
 * options (--exit-command, --health-cmd, --runtime-arg) build an argv in order.
 */
#include "shim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *msg, const char *arg) {
  dprintf(2, "berth-shim: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
  dprintf(2, "berth-shim is started by berth (see native/shim/PROTOCOL.md)\n");
  return -1;
}

static int push(char ***list, const char *v) {
  size_t n = 0;
  if (*list)
    while ((*list)[n]) n++;
  *list = xrealloc(*list, (n + 2) * sizeof(char *));
  (*list)[n] = (char *)v;
  (*list)[n + 1] = NULL;
  return 0;
}

static int num(const char *v, long long min, long long max, long long *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || end == v || *end || x < min || x > max) return -1;
  *out = x;
  return 0;
}

static int fdnum(const char *v, int *out) {
  long long x;
  if (num(v, 3, 1 << 20, &x) < 0) return -1;
  *out = (int)x;
  return 0;
}

int parse_args(int argc, char **argv, struct opts *o) {
  memset(o, 0, sizeof *o);
  o->control_fd = o->sync_fd = o->listener_fd = -1;
  o->log_max_size = 10LL * 1024 * 1024;
  o->log_max_files = 3;
  o->health_interval_ms = 30000;
  o->health_timeout_ms = 30000;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    /* flags without a value */
    if (!strcmp(a, "--terminal")) { o->terminal = 1; continue; }
    if (!strcmp(a, "--stdin")) { o->stdin_open = 1; continue; }
    if (!strcmp(a, "--stdin-once")) { o->stdin_once = 1; continue; }
    if (i + 1 >= argc) return usage("missing value for", a);
    const char *v = argv[++i];
    long long x;
    if (!strcmp(a, "--id")) o->id = v;
    else if (!strcmp(a, "--dir")) o->dir = v;
    else if (!strcmp(a, "--control-fd")) { if (fdnum(v, &o->control_fd) < 0) return usage("bad fd", v); }
    else if (!strcmp(a, "--log-path")) o->log_path = v;
    else if (!strcmp(a, "--log-max-size")) { if (num(v, 0, 1LL << 50, &o->log_max_size) < 0) return usage("bad --log-max-size", v); }
    else if (!strcmp(a, "--log-max-files")) {
      if (num(v, 1, 1000, &x) < 0) return usage("bad --log-max-files", v);
      o->log_max_files = (int)x;
    }
    else if (!strcmp(a, "--exit-command")) push(&o->exit_cmd, v);
    else if (!strcmp(a, "--health-cmd")) push(&o->health_cmd, v);
    else if (!strcmp(a, "--health-interval")) { if (num(v, 1, 1LL << 40, &o->health_interval_ms) < 0) return usage("bad --health-interval", v); }
    else if (!strcmp(a, "--health-timeout")) { if (num(v, 1, 1LL << 40, &o->health_timeout_ms) < 0) return usage("bad --health-timeout", v); }
    else if (!strcmp(a, "--health-start-period")) { if (num(v, 0, 1LL << 40, &o->health_start_period_ms) < 0) return usage("bad --health-start-period", v); }
    else if (!strcmp(a, "--health-start-interval")) { if (num(v, 1, 1LL << 40, &o->health_start_interval_ms) < 0) return usage("bad --health-start-interval", v); }
    else if (!strcmp(a, "--init")) { o->init_path = v; o->mode = RT_BUILTIN; }
    else if (!strcmp(a, "--sync-fd")) { if (fdnum(v, &o->sync_fd) < 0) return usage("bad fd", v); }
    else if (!strcmp(a, "--seccomp-listener-fd")) { if (fdnum(v, &o->listener_fd) < 0) return usage("bad fd", v); }
    else if (!strcmp(a, "--runtime")) { o->runtime = v; o->mode = RT_EXTERNAL; }
    else if (!strcmp(a, "--runtime-arg")) push(&o->runtime_args, v);
    else if (!strcmp(a, "--bundle")) o->bundle = v;
    else if (!strcmp(a, "--pid-file")) o->pid_file = v;
    else return usage("unknown option", a);
  }
  if (!o->id || !*o->id) return usage("--id is required", NULL);
  if (!o->dir || o->dir[0] != '/') return usage("--dir must be an absolute path", o->dir);
  if (o->control_fd < 0) return usage("--control-fd is required", NULL);
  if (o->log_path && o->log_path[0] != '/') return usage("--log-path must be an absolute path", o->log_path);
  if (o->init_path && o->runtime) return usage("--init and --runtime exclude each other", NULL);
  if (o->mode == RT_BUILTIN && o->sync_fd < 0) return usage("--init needs --sync-fd", NULL);
  if (o->mode == RT_EXTERNAL && !o->bundle) return usage("--runtime needs --bundle", NULL);
  if (!o->mode) return usage("one of --init or --runtime is required", NULL);
  if (o->stdin_once && !o->stdin_open) return usage("--stdin-once needs --stdin", NULL);
  if (!o->health_start_interval_ms) o->health_start_interval_ms = o->health_interval_ms;
  if (!o->pid_file) o->pid_file = "container.pid";
  return 0;
}
