/*
 * berth-shim: the per-container monitor (the conmon equivalent). One process per container,
 * detached from the engine: it starts the container (berth-init, or an external OCI
 * runtime's `create`), holds its stdio, writes the json-file log, serves the attach socket,
 * forwards signals, reaps every child as a subreaper, records the exit status in exit.json
 * and runs the exit command. The command line and the wire formats are in PROTOCOL.md.
 *
 * Single-threaded: one epoll loop; every fd is non-blocking and close-on-exec.
 */
#ifndef BERTH_SHIM_H
#define BERTH_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* ---- options (args.c) ---- */
enum runtime_mode { RT_BUILTIN = 1, RT_EXTERNAL = 2 };

struct opts {
  const char *id;
  const char *dir; /* container directory: attach.sock, console.sock, exit.json, shim.pid */
  int control_fd;
  const char *log_path; /* NULL: no log (--log-driver none) */
  long long log_max_size; /* bytes; 0: never rotate */
  int log_max_files;
  int terminal, stdin_open, stdin_once;
  char **exit_cmd; /* NULL-terminated, or NULL */
  char **health_cmd;
  long long health_interval_ms, health_timeout_ms, health_start_period_ms, health_start_interval_ms;
  enum runtime_mode mode;
  /* built-in */
  const char *init_path;
  int sync_fd, listener_fd;
  /* external */
  const char *runtime;
  char **runtime_args; /* global options placed before `create` */
  const char *bundle;
  const char *pid_file;
};

int parse_args(int argc, char **argv, struct opts *o);

/* ---- shared state ---- */
struct shim {
  struct opts o;
  pid_t init_pid;      /* berth-init P, or the external runtime's `create` */
  pid_t container_pid; /* 0 until the engine (built-in) or the pid file (external) names it */
  int monitoring;      /* MONITORING sent: the engine's create is complete */
  int started;         /* the engine said the container was started (health checks run) */
  int exiting;         /* the container process has exited; the exit sequence runs */
};
extern struct shim S;

/* ---- event loop (loop.c) ---- */
struct watch;
typedef void (*watch_fn)(struct watch *w, uint32_t events);
struct watch {
  int fd;
  uint32_t events;
  watch_fn fn;
};
void loop_init(void);
void loop_add(struct watch *w, int fd, uint32_t events, watch_fn fn);
void loop_mod(struct watch *w, uint32_t events);
void loop_del(struct watch *w);
/* Runs until loop_stop(). */
void loop_run(void);
void loop_stop(void);

/* ---- util.c ---- */
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xrealloc(void *p, size_t n);
int write_all(int fd, const void *buf, size_t len);
void set_nonblock(int fd, int on);
/* RFC 3339 with nanoseconds, trailing zeros of the fraction trimmed (Go's RFC3339Nano). */
size_t format_time(char *buf, size_t cap, const struct timespec *ts);
long long monotonic_ms(void);
/* Writes `data` to dir-relative `name` atomically: temp file, fsync, rename, fsync dir. */
int write_file_atomic(const char *name, const char *data, size_t len);
/* Exit code docker-style: the status, or 128+signal. */
int exit_code_of(int status);
/* Start time (field 22 of /proc/PID/stat) of `pid`, or 0. */
unsigned long long proc_start_time(pid_t pid);

/* ---- spawn.c ---- */
struct spawn_req {
  const char *path;
  char *const *argv;
  char *const *envp; /* NULL: the shim's environment */
  int fds[6];        /* fds[i] becomes fd i in the child; -1: /dev/null */
  int nfds;
  int new_session;   /* setsid() in the child (own process group, no terminal) */
  int detach;        /* double fork: the command is not our child and outlives us */
};
/* Forks and execs; returns the pid (for detach: the pid of the intermediate child, already
 * reaped) or -1 with errno set (including exec's errno, reported through a CLOEXEC pipe). */
pid_t spawn_proc(const struct spawn_req *r);

/* ---- control channel to the engine (control.c; numbers checked against src/engine/shim/protocol.ts
 * by test/unit/native-constants.test.ts) ---- */
enum control_frame {
  CTL_SPAWNED = 1,    /* shim -> engine: u32 pid of berth-init P / the runtime's create */
  CTL_INIT_EXIT = 2,  /* shim -> engine: i32 exit code, i32 signal of that process */
  CTL_PID = 3,        /* engine -> shim: u32 container pid (built-in mode) */
  CTL_MONITORING = 4, /* shim -> engine: u32 container pid; the shim has all it needs */
  CTL_ERROR = 5,      /* shim -> engine: text; the shim exits */
};
void control_init(void);
void control_send(uint32_t type, const void *data, uint32_t len);
void control_close(void);
int control_open(void);

/* ---- container stdio (io.c) ---- */
enum { STREAM_STDIN = 0, STREAM_STDOUT = 1, STREAM_STDERR = 2 };
void io_setup(void);
/* The fds the runtime process gets as 0, 1, 2 (-1: /dev/null). */
void io_child_fds(int fds[3]);
/* The runtime process has its copies: drop the container's ends of the pipes. */
void io_after_spawn(void);
/* True once the shim holds everything it needs (the pty master, for a terminal). */
int io_ready(void);
/* Accepts stdin from attach clients; returns 0, or -1 when stdin is closed. */
int io_write_stdin(const char *data, size_t len);
int io_stdin_open(void);
int io_stdin_busy(void);
void io_close_stdin(void);
void io_resize(unsigned rows, unsigned cols);
/* Stop (1) or resume (0) reading the container's output: an attach client is behind. */
void io_pause_output(int paused);
/* The container has exited: read what is left (to EOF, bounded), flush logs. */
void io_drain(void);
void io_cleanup(void);

/* ---- json-file log (log.c) ---- */
void log_open(void);
void log_feed(int stream, const char *data, size_t len);
void log_eof(int stream);
void log_close(void);

/* ---- attach socket (attach.c) ---- */
void attach_listen(void);
void attach_broadcast(int stream, const char *data, size_t len);
/* stdin is (not) accepting data: pause/resume reading from clients that send stdin. */
void attach_stdin_ready(int ready);
void attach_close_all(void);
/* Frees clients that disconnected during the last batch of events (see loop.c). */
void attach_gc(void);

/* ---- runtime launch (launch.c) ---- */
void launch(void);
/* Called by the reaper for S.init_pid. */
void launch_exited(int status);

/* ---- exit, reaping, OOM (exit.c) ---- */
void reap_children(void);
/* The engine or the pid file named the container process. */
void monitor_set_pid(pid_t pid);
/* Sends MONITORING once the container pid is known and io_ready(). */
void monitor_check_ready(void);
/* Something failed before the container was handed over: kill what we started, tell the
 * engine, remove our sockets, exit 1 (no exit.json, no exit command). */
__attribute__((noreturn)) void shim_abort(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kill_children(void);

/* ---- health checks (health.c) ---- */
void health_init(void);
void health_start(void);
/* Returns 1 if `pid` was the running check. */
int health_reaped(pid_t pid);
void health_stop(void);

#endif
