/*
 * Network namespaces without moving the calling process (podman's netns-file model):
 *   netnsCreate(path)                  -> Promise<void>   a new netns, loopback up, bind-mounted
 *                                                         on the existing file `path`
 *   netnsOpenNetlink(nsPath | null)    -> Promise<fd>     a NETLINK_ROUTE socket bound to the
 *                                                         netns at nsPath (null: the caller's)
 *   netnsOpenFile(nsPath, file, flags) -> Promise<fd>     open(file, flags) from inside the netns
 *                                                         (/proc/sys/net/... is resolved against
 *                                                         the opener's netns at open time)
 *
 * Why a short-lived thread per call: setns()/unshare(CLONE_NEWNET) change the namespace of
 * the calling *thread* only. Doing it on Node's main thread or on a libuv pool thread would
 * leave that thread in the wrong namespace for whatever it does next (a later socket() or
 * /proc/sys open of unrelated code). A fresh pthread is entered, does its one job, and exits,
 * so no thread ever has to be switched back (a setns back could fail and poison the pool).
 * The objects it makes outlive it: the bind mount holds the namespace, and a socket stays
 * bound to the namespace it was created in. The thread is started and joined from a libuv
 * pool thread (napi async work), so the event loop never waits for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <node_api.h>

#include "errors.h"

napi_value js_netns_create(napi_env env, napi_callback_info info);
napi_value js_netns_open_netlink(napi_env env, napi_callback_info info);
napi_value js_netns_open_file(napi_env env, napi_callback_info info);

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/* A reply that never comes (it cannot, every request asks for an ACK) must not pin a pool thread. */
#define NETLINK_RECV_TIMEOUT_SEC 10

enum op { OP_CREATE, OP_NETLINK, OP_FILE };

struct job {
  napi_async_work work;
  napi_deferred deferred;
  enum op op;
  char *ns_path;  /* OP_CREATE: the file to bind-mount on; others: the netns to enter (NULL: stay) */
  char *file;     /* OP_FILE */
  int flags;      /* OP_FILE */
  int fd;         /* result of OP_NETLINK / OP_FILE */
  int err;        /* errno of the failed step, 0 on success */
  const char *step;
};

static int fail(struct job *j, const char *step) {
  j->err = errno;
  j->step = step;
  return -1;
}

/* SIOCSIFFLAGS through an ioctl socket of the (new) netns this thread is in. */
static int loopback_up(struct job *j) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return fail(j, "socket for loopback");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP;
    rc = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  if (rc < 0) fail(j, "set lo up");
  close(s);
  return rc;
}

static void create_in_thread(struct job *j) {
  if (unshare(CLONE_NEWNET) < 0) { fail(j, "unshare(CLONE_NEWNET)"); return; }
  if (loopback_up(j) < 0) return;
  /* /proc/thread-self, not /proc/self: only this thread is in the new namespace. */
  if (mount("/proc/thread-self/ns/net", j->ns_path, NULL, MS_BIND, NULL) < 0) fail(j, "bind-mount the netns");
}

static void open_netlink(struct job *j) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) { fail(j, "socket(NETLINK_ROUTE)"); return; }
  int one = 1;
  struct timeval tv = {NETLINK_RECV_TIMEOUT_SEC, 0};
  struct sockaddr_nl local = {.nl_family = AF_NETLINK}; /* nl_pid 0: the kernel picks a unique port */
  /* Extended ACKs carry the kernel's reason ("Invalid MTU ...") into error messages; CAP_ACK
   * keeps an error from echoing the whole request back. Both are best effort (old kernels). */
  setsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(s, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
      bind(s, (struct sockaddr *)&local, sizeof local) < 0) {
    fail(j, "bind the netlink socket");
    close(s);
    return;
  }
  j->fd = s;
}

static void open_file(struct job *j) {
  int fd = open(j->file, j->flags | O_CLOEXEC);
  if (fd < 0) { fail(j, "open"); return; }
  j->fd = fd;
}

static void *ns_thread(void *p) {
  struct job *j = p;
  if (j->op == OP_CREATE) {
    create_in_thread(j);
    return NULL;
  }
  if (j->ns_path) {
    int nsfd = open(j->ns_path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) { fail(j, "open the netns file"); return NULL; }
    int rc = setns(nsfd, CLONE_NEWNET);
    if (rc < 0) fail(j, "setns");
    close(nsfd);
    if (rc < 0) return NULL;
  }
  if (j->op == OP_NETLINK) open_netlink(j);
  else open_file(j);
  return NULL;
}

/* Runs on a libuv pool thread: the namespace work happens on a thread of its own (see top). */
static void execute(napi_env env, void *data) {
  (void)env;
  struct job *j = data;
  pthread_t t;
  int rc = pthread_create(&t, NULL, ns_thread, j);
  if (rc != 0) { j->err = rc; j->step = "pthread_create"; return; }
  pthread_join(t, NULL);
}

static napi_value make_error(napi_env env, struct job *j) {
  char what[4300];
  const char *target = j->op == OP_FILE ? j->file : j->ns_path;
  snprintf(what, sizeof what, "%s %s", j->step, target ? target : "(current netns)");
  const char *name = strerrorname_np(j->err);
  char msg[4400];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(j->err));
  napi_value code, message, error, errnum;
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, j->err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  return error;
}

static void complete(napi_env env, napi_status status, void *data) {
  struct job *j = data;
  napi_value result;
  if (status != napi_ok && j->err == 0) { j->err = ECANCELED; j->step = "async work"; }
  if (j->err) {
    napi_reject_deferred(env, j->deferred, make_error(env, j));
  } else {
    if (j->op == OP_CREATE) napi_get_undefined(env, &result);
    else napi_create_int32(env, j->fd, &result);
    napi_resolve_deferred(env, j->deferred, result);
  }
  napi_delete_async_work(env, j->work);
  free(j->ns_path);
  free(j->file);
  free(j);
}

/* A string argument (NULL for null/undefined); *ok = 0 for anything else. */
static char *string_arg(napi_env env, napi_value v, int *ok) {
  napi_valuetype t;
  *ok = napi_typeof(env, v, &t) == napi_ok;
  if (!*ok || t == napi_null || t == napi_undefined) return NULL;
  size_t len = 0;
  if (t != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len >= 4096) {
    *ok = 0;
    return NULL;
  }
  char *s = malloc(len + 1);
  if (!s) { *ok = 0; return NULL; }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

/* Frees a job that will not run and throws the usage error. */
static napi_value refuse(napi_env env, struct job *j, const char *usage) {
  if (j) {
    free(j->ns_path);
    free(j->file);
  }
  free(j);
  napi_throw_error(env, "EINVAL", usage);
  return NULL;
}

static napi_value start(napi_env env, struct job *j, const char *usage) {
  napi_value promise, name;
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "berth_netns", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok)
    return refuse(env, j, usage);
  return promise;
}

static struct job *new_job(enum op op) {
  struct job *j = calloc(1, sizeof *j);
  if (j) { j->op = op; j->fd = -1; }
  return j;
}

/* The calls that take one namespace path (null allowed where null_ok: the caller's namespace). */
static napi_value path_call(napi_env env, napi_callback_info info, enum op op, const char *usage, int null_ok) {
  size_t argc = 1;
  napi_value argv[1];
  int ok = 0;
  struct job *j = new_job(op);
  if (j && napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1)
    j->ns_path = string_arg(env, argv[0], &ok);
  if (!j || !ok || (!null_ok && !j->ns_path)) return refuse(env, j, usage);
  return start(env, j, usage);
}

napi_value js_netns_create(napi_env env, napi_callback_info info) {
  return path_call(env, info, OP_CREATE, "netnsCreate(path: string)", 0);
}

napi_value js_netns_open_netlink(napi_env env, napi_callback_info info) {
  return path_call(env, info, OP_NETLINK, "netnsOpenNetlink(nsPath: string | null)", 1);
}

napi_value js_netns_open_file(napi_env env, napi_callback_info info) {
  static const char usage[] = "netnsOpenFile(nsPath: string, file: string, flags: number)";
  size_t argc = 3;
  napi_value argv[3];
  int ok1 = 0, ok2 = 0;
  int32_t flags = 0;
  struct job *j = new_job(OP_FILE);
  if (j && napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 3 &&
      napi_get_value_int32(env, argv[2], &flags) == napi_ok) {
    j->ns_path = string_arg(env, argv[0], &ok1);
    j->file = string_arg(env, argv[1], &ok2);
  }
  if (!j || !ok1 || !ok2 || !j->ns_path || !j->file) return refuse(env, j, usage);
  j->flags = flags;
  return start(env, j, usage);
}
