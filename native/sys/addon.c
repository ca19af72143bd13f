/*
 * berth_sys: the few system calls Node.js does not expose and the TypeScript side needs
 * directly (everything that must run inside a new container lives in berth-init instead).
 * Each function takes plain numbers/strings and throws an Error whose `code` is the errno
 * name, so callers can map it onto a BerthError with context.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <node_api.h>

#include "errors.h"

#define CHECK_NAPI(call)                                                                  \
  do {                                                                                    \
    if ((call) != napi_ok) {                                                              \
      napi_throw_error(env, "EINVAL", "berth_sys: bad arguments to " #call);             \
      return NULL;                                                                        \
    }                                                                                     \
  } while (0)

/* Reads argument i as a UTF-8 string into a malloc'd buffer (NULL for null/undefined). */
static char *arg_string(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t == napi_null || t == napi_undefined) return NULL;
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (!s) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

/* flock(fd, operation): advisory whole-file locks that the kernel drops when the holder dies. */
static napi_value js_flock(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd, op;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK_NAPI(napi_get_value_int32(env, argv[0], &fd));
  CHECK_NAPI(napi_get_value_int32(env, argv[1], &op));
  int rc;
  do rc = flock(fd, op); while (rc < 0 && errno == EINTR);
  if (rc < 0) return sys_throw(env, "flock", errno);
  return NULL;
}

/* mount(source, target, fstype, flags, data) */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  double flags;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK_NAPI(napi_get_value_double(env, argv[3], &flags));
  char *src = arg_string(env, argv[0]), *dst = arg_string(env, argv[1]);
  char *fstype = arg_string(env, argv[2]), *data = arg_string(env, argv[4]);
  int rc = mount(src, dst, fstype, (unsigned long)flags, data);
  int err = errno;
  free(src); free(fstype); free(data);
  if (rc < 0) {
    char what[600];
    snprintf(what, sizeof what, "mount %s", dst ? dst : "");
    free(dst);
    return sys_throw(env, what, err);
  }
  free(dst);
  return NULL;
}

/* umount2(target, flags) */
static napi_value js_umount(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t flags;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK_NAPI(napi_get_value_int32(env, argv[1], &flags));
  char *dst = arg_string(env, argv[0]);
  int rc = umount2(dst, flags);
  int err = errno;
  if (rc < 0) {
    char what[600];
    snprintf(what, sizeof what, "umount %s", dst ? dst : "");
    free(dst);
    return sys_throw(env, what, err);
  }
  free(dst);
  return NULL;
}

/* mkfifo(path, mode): the exec fifo that splits `create` from `start`. */
static napi_value js_mkfifo(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t mode;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK_NAPI(napi_get_value_int32(env, argv[1], &mode));
  char *path = arg_string(env, argv[0]);
  int rc = mkfifo(path, (mode_t)mode);
  int err = errno;
  if (rc < 0) {
    char what[600];
    snprintf(what, sizeof what, "mkfifo %s", path ? path : "");
    free(path);
    return sys_throw(env, what, err);
  }
  free(path);
  return NULL;
}

napi_value js_bpf_attach_device_filter(napi_env env, napi_callback_info info); /* bpf.c */
napi_value js_mknod(napi_env env, napi_callback_info info);                      /* fsnodes.c */
napi_value js_lsetxattr(napi_env env, napi_callback_info info);
napi_value js_lgetxattr(napi_env env, napi_callback_info info);
napi_value js_llistxattr(napi_env env, napi_callback_info info);
napi_value js_lutimens(napi_env env, napi_callback_info info);
napi_value js_open_beneath(napi_env env, napi_callback_info info);
napi_value js_open_in_root(napi_env env, napi_callback_info info);                /* resolve.c */
napi_value js_mount_overlay(napi_env env, napi_callback_info info);              /* overlay.c */
napi_value js_socketpair(napi_env env, napi_callback_info info);                 /* fdpass.c */
napi_value js_pipe(napi_env env, napi_callback_info info);
napi_value js_recv_fd(napi_env env, napi_callback_info info);
napi_value js_send_fd(napi_env env, napi_callback_info info);
napi_value js_dup_fd(napi_env env, napi_callback_info info);                      /* tty.c */
napi_value js_set_window_size(napi_env env, napi_callback_info info);
napi_value js_set_output_processing(napi_env env, napi_callback_info info);
/* network namespaces and rtnetlink sockets (netns.c) */
napi_value js_netns_create(napi_env env, napi_callback_info info);
napi_value js_netns_open_netlink(napi_env env, napi_callback_info info);
napi_value js_netns_open_file(napi_env env, napi_callback_info info);

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"flock", NULL, js_flock, NULL, NULL, NULL, napi_default, NULL},
    {"mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL},
    {"umount", NULL, js_umount, NULL, NULL, NULL, napi_default, NULL},
    {"mkfifo", NULL, js_mkfifo, NULL, NULL, NULL, napi_default, NULL},
    {"bpfAttachDeviceFilter", NULL, js_bpf_attach_device_filter, NULL, NULL, NULL, napi_default, NULL},
    {"mknod", NULL, js_mknod, NULL, NULL, NULL, napi_default, NULL},
    {"lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_default, NULL},
    {"lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_default, NULL},
    {"llistxattr", NULL, js_llistxattr, NULL, NULL, NULL, napi_default, NULL},
    {"lutimens", NULL, js_lutimens, NULL, NULL, NULL, napi_default, NULL},
    {"openBeneath", NULL, js_open_beneath, NULL, NULL, NULL, napi_default, NULL},
    {"openInRoot", NULL, js_open_in_root, NULL, NULL, NULL, napi_default, NULL},
    {"mountOverlay", NULL, js_mount_overlay, NULL, NULL, NULL, napi_default, NULL},
    {"socketpair", NULL, js_socketpair, NULL, NULL, NULL, napi_default, NULL},
    {"pipe", NULL, js_pipe, NULL, NULL, NULL, napi_default, NULL},
    {"recvFd", NULL, js_recv_fd, NULL, NULL, NULL, napi_default, NULL},
    {"sendFd", NULL, js_send_fd, NULL, NULL, NULL, napi_default, NULL},
    {"dupFd", NULL, js_dup_fd, NULL, NULL, NULL, napi_default, NULL},
    {"setWindowSize", NULL, js_set_window_size, NULL, NULL, NULL, napi_default, NULL},
    {"setOutputProcessing", NULL, js_set_output_processing, NULL, NULL, NULL, napi_default, NULL},
    /* network namespaces and rtnetlink sockets (netns.c) */
    {"netnsCreate", NULL, js_netns_create, NULL, NULL, NULL, napi_default, NULL},
    {"netnsOpenNetlink", NULL, js_netns_open_netlink, NULL, NULL, NULL, napi_default, NULL},
    {"netnsOpenFile", NULL, js_netns_open_file, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
