/*
 * Passing file descriptors over unix sockets (SCM_RIGHTS), which Node cannot do: libuv reads
 * ordinary stream sockets with read(2), and the kernel drops any fds attached to the bytes.
 *   socketpair()                         -> [fd, fd]   AF_UNIX stream pair, close-on-exec
 *   pipe()                               -> [read, write] a pipe, close-on-exec (Node's own
 *                                        "pipes" for children are socketpairs)
 *   recvFd(sock)                         -> { fd, data } one message, without blocking
 *   sendFd(path, data, fd, timeoutMs)    connects to a listening socket, sends data with fd
 *                                        attached to its first byte, closes the connection
 * Used for the seccomp user-notification listener: berth-init sends it to the runtime, which
 * forwards it to the agent at linux.seccomp.listenerPath.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <node_api.h>

#include "errors.h"

napi_value js_socketpair(napi_env env, napi_callback_info info);
napi_value js_pipe(napi_env env, napi_callback_info info);
napi_value js_recv_fd(napi_env env, napi_callback_info info);
napi_value js_send_fd(napi_env env, napi_callback_info info);

static napi_value bad_args(napi_env env, const char *fn) {
  napi_throw_error(env, "EINVAL", fn);
  return NULL;
}

/* [fds[0], fds[1]] as a JS array */
static napi_value fd_pair(napi_env env, const int fds[2]) {
  napi_value arr, a, b;
  napi_create_array_with_length(env, 2, &arr);
  napi_create_int32(env, fds[0], &a);
  napi_create_int32(env, fds[1], &b);
  napi_set_element(env, arr, 0, a);
  napi_set_element(env, arr, 1, b);
  return arr;
}

napi_value js_socketpair(napi_env env, napi_callback_info info) {
  (void)info;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return sys_throw(env, "socketpair", errno);
  return fd_pair(env, sv);
}

napi_value js_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return sys_throw(env, "pipe2", errno);
  return fd_pair(env, p);
}

napi_value js_recv_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t sock;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &sock) != napi_ok)
    return bad_args(env, "recvFd(sock)");
  char data[4096];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {data, sizeof data};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  if (n < 0) return sys_throw(env, "recvmsg", errno);
  int fd = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int)))
      memcpy(&fd, CMSG_DATA(c), sizeof fd);
  if (fd < 0) return sys_throw(env, n == 0 ? "recvmsg: the peer closed without sending a file descriptor" : "recvmsg: no file descriptor in the message", EBADMSG);
  if (msg.msg_flags & MSG_CTRUNC) {
    close(fd);
    return sys_throw(env, "recvmsg: control data truncated", EMSGSIZE);
  }
  napi_value out, jfd, jdata;
  void *copy;
  napi_create_object(env, &out);
  napi_create_int32(env, fd, &jfd);
  napi_create_buffer_copy(env, (size_t)n, data, &copy, &jdata);
  napi_set_named_property(env, out, "fd", jfd);
  napi_set_named_property(env, out, "data", jdata);
  return out;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until the deadline; 0 when ready, else -1 with errno (ETIMEDOUT). */
static int wait_for(int fd, short events, long long deadline) {
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    struct pollfd p = {fd, events, 0};
    int r = poll(&p, 1, (int)left);
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) return -1;
  }
}

napi_value js_send_fd(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t fd;
  double timeout_ms;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_value_int32(env, argv[2], &fd) != napi_ok || napi_get_value_double(env, argv[3], &timeout_ms) != napi_ok)
    return bad_args(env, "sendFd(path, data, fd, timeoutMs)");
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  size_t path_len = 0;
  if (napi_get_value_string_utf8(env, argv[0], sa.sun_path, sizeof sa.sun_path, &path_len) != napi_ok)
    return bad_args(env, "sendFd: path must be a string");
  if (path_len == 0 || path_len >= sizeof sa.sun_path - 1) return sys_throw(env, "sendFd: socket path empty or too long", ENAMETOOLONG);
  char *data = NULL;
  size_t len = 0;
  bool is_buffer = false;
  napi_is_buffer(env, argv[1], &is_buffer);
  if (!is_buffer || napi_get_buffer_info(env, argv[1], (void **)&data, &len) != napi_ok || len == 0)
    return bad_args(env, "sendFd: data must be a non-empty Buffer");

  long long deadline = now_ms() + (long long)timeout_ms;
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (sock < 0) return sys_throw(env, "socket", errno);
  char what[sizeof sa.sun_path + 32];
  snprintf(what, sizeof what, "connect %s", sa.sun_path);
  if (connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int err = errno;
    /* a full backlog makes a non-blocking unix connect fail with EAGAIN: retry until the deadline */
    while (err == EAGAIN && now_ms() < deadline) {
      struct timespec pause = {0, 10 * 1000 * 1000};
      nanosleep(&pause, NULL);
      err = connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0 ? errno : 0;
    }
    if (err == EAGAIN) err = ETIMEDOUT;
    if (err) {
      close(sock);
      return sys_throw(env, what, err);
    }
  }
  size_t sent = 0;
  while (sent < len) {
    struct iovec iov = {data + sent, len - sent};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    union {
      char buf[CMSG_SPACE(sizeof(int))];
      struct cmsghdr align;
    } ctl;
    if (sent == 0) {
      /* the runtime spec: fds go with the first sendmsg only */
      memset(&ctl, 0, sizeof ctl);
      msg.msg_control = ctl.buf;
      msg.msg_controllen = sizeof ctl.buf;
      struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (errno == EAGAIN && wait_for(sock, POLLOUT, deadline) < 0) break;
      continue;
    }
    if (n < 0) break;
    sent += (size_t)n;
  }
  int err = sent < len ? errno : 0;
  close(sock);
  if (err) {
    snprintf(what, sizeof what, "send to %s", sa.sun_path);
    return sys_throw(env, what, err);
  }
  return NULL;
}
