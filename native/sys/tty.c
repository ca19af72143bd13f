/*
 * Terminal calls for proxying a pty master that Node received (SCM_RIGHTS) from a console
 * socket, e.g. for `exec -t` run by the CLI itself:
 *   dupFd(fd)                       -> fd   F_DUPFD_CLOEXEC: one fd for reading, one for
 *                                           writing, each owned by its own Node stream
 *   setWindowSize(fd, rows, cols)        TIOCSWINSZ (Node can only read a tty's size)
 *   setOutputProcessing(fd, on)          OPOST in c_oflag: libuv's raw mode keeps ONLCR, so
 *                                        a container's "\r\n" would reach the screen as
 *                                        "\r\r\n" and a bare "\n" (cursor down, as curses
 *                                        programs use it) as a new line; docker clears it
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <node_api.h>

#include "errors.h"

napi_value js_dup_fd(napi_env env, napi_callback_info info);
napi_value js_set_window_size(napi_env env, napi_callback_info info);
napi_value js_set_output_processing(napi_env env, napi_callback_info info);

static int int_args(napi_env env, napi_callback_info info, int32_t *out, size_t want) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) return -1;
  for (size_t i = 0; i < want; i++)
    if (napi_get_value_int32(env, argv[i], &out[i]) != napi_ok) return -1;
  return 0;
}

napi_value js_dup_fd(napi_env env, napi_callback_info info) {
  int32_t a[1];
  if (int_args(env, info, a, 1) < 0) {
    napi_throw_error(env, "EINVAL", "dupFd(fd)");
    return NULL;
  }
  int fd = fcntl(a[0], F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return sys_throw(env, "dup", errno);
  napi_value r;
  napi_create_int32(env, fd, &r);
  return r;
}

napi_value js_set_window_size(napi_env env, napi_callback_info info) {
  int32_t a[3];
  if (int_args(env, info, a, 3) < 0 || a[1] < 0 || a[2] < 0 || a[1] > 65535 || a[2] > 65535) {
    napi_throw_error(env, "EINVAL", "setWindowSize(fd, rows, cols)");
    return NULL;
  }
  struct winsize ws = {.ws_row = (unsigned short)a[1], .ws_col = (unsigned short)a[2]};
  if (ioctl(a[0], TIOCSWINSZ, &ws) < 0) return sys_throw(env, "ioctl(TIOCSWINSZ)", errno);
  return NULL;
}

napi_value js_set_output_processing(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  bool on;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_bool(env, argv[1], &on) != napi_ok) {
    napi_throw_error(env, "EINVAL", "setOutputProcessing(fd, on)");
    return NULL;
  }
  struct termios t;
  if (tcgetattr(fd, &t) < 0) return sys_throw(env, "tcgetattr", errno);
  if (on) t.c_oflag |= OPOST;
  else t.c_oflag &= ~(tcflag_t)OPOST;
  if (tcsetattr(fd, TCSANOW, &t) < 0) return sys_throw(env, "tcsetattr", errno);
  return NULL;
}
