/*
 * File-system calls the layer unpacker and the diff/commit code need and Node lacks:
 * mknod (device nodes, overlay whiteouts) and the l*xattr family (which never follow a
 * symlink, so an archive cannot make us label a file outside the layer through one).
 * Errors are thrown as Error objects whose `code` is the errno name, as in addon.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <node_api.h>

#include "errors.h"

napi_value js_mknod(napi_env env, napi_callback_info info);
napi_value js_lsetxattr(napi_env env, napi_callback_info info);
napi_value js_lgetxattr(napi_env env, napi_callback_info info);
napi_value js_llistxattr(napi_env env, napi_callback_info info);
napi_value js_lutimens(napi_env env, napi_callback_info info);

static napi_value bad_args(napi_env env, const char *fn) {
  napi_throw_type_error(env, "EINVAL", fn);
  return NULL;
}

/* Copies a JS string argument into buf (PATH_MAX-sized); false when it is not a string or too long. */
static int get_str(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len + 1 > size) return 0;
  return napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok;
}

/* mknod(path, mode, major, minor): mode carries the file type (S_IFCHR, S_IFBLK, S_IFIFO). */
napi_value js_mknod(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  char path[4097];
  uint32_t mode, major, minor;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 ||
      !get_str(env, argv[0], path, sizeof path) || napi_get_value_uint32(env, argv[1], &mode) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &major) != napi_ok || napi_get_value_uint32(env, argv[3], &minor) != napi_ok)
    return bad_args(env, "mknod(path, mode, major, minor)");
  if (mknod(path, (mode_t)mode, makedev(major, minor)) < 0) return sys_throw_path(env, "mknod", path, errno);
  return NULL;
}

/* lsetxattr(path, name, value: Buffer) */
napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char path[4097], name[256];
  void *data = NULL;
  size_t len = 0;
  bool is_buffer = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
      !get_str(env, argv[0], path, sizeof path) || !get_str(env, argv[1], name, sizeof name) ||
      napi_is_buffer(env, argv[2], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok)
    return bad_args(env, "lsetxattr(path, name, value: Buffer)");
  if (lsetxattr(path, name, data, len, 0) < 0) return sys_throw_path(env, "lsetxattr", path, errno);
  return NULL;
}

/* lgetxattr(path, name) -> Buffer, or null when the attribute is absent (ENODATA). */
napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  char path[4097], name[256];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      !get_str(env, argv[0], path, sizeof path) || !get_str(env, argv[1], name, sizeof name))
    return bad_args(env, "lgetxattr(path, name)");
  for (;;) {
    ssize_t size = lgetxattr(path, name, NULL, 0);
    if (size < 0) {
      if (errno == ENODATA) { napi_get_null(env, &result); return result; }
      return sys_throw_path(env, "lgetxattr", path, errno);
    }
    void *data = NULL;
    if (napi_create_buffer(env, (size_t)size, &data, &result) != napi_ok) return bad_args(env, "lgetxattr: buffer");
    if (size == 0) return result;
    ssize_t got = lgetxattr(path, name, data, (size_t)size);
    if (got == size) return result;
    if (got < 0 && errno != ERANGE) return sys_throw_path(env, "lgetxattr", path, errno);
    /* The value changed size between the two calls: ask again. */
  }
}

/* llistxattr(path) -> string[] of attribute names. */
napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  char path[4097];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      !get_str(env, argv[0], path, sizeof path))
    return bad_args(env, "llistxattr(path)");
  for (;;) {
    ssize_t size = llistxattr(path, NULL, 0);
    if (size < 0) return sys_throw_path(env, "llistxattr", path, errno);
    char *names = malloc((size_t)size + 1);
    if (!names) return sys_throw_path(env, "llistxattr", path, ENOMEM);
    ssize_t got = size == 0 ? 0 : llistxattr(path, names, (size_t)size);
    if (got < 0) {
      int err = errno;
      free(names);
      if (err == ERANGE) continue;
      return sys_throw_path(env, "llistxattr", path, err);
    }
    napi_create_array(env, &result);
    uint32_t n = 0;
    for (ssize_t off = 0; off < got;) {
      size_t l = strnlen(names + off, (size_t)(got - off));
      napi_value s;
      napi_create_string_utf8(env, names + off, l, &s);
      napi_set_element(env, result, n++, s);
      off += (ssize_t)l + 1;
    }
    free(names);
    return result;
  }
}

/*
 * lutimens(path, atimeSec, atimeNsec, mtimeSec, mtimeNsec): utimensat(AT_SYMLINK_NOFOLLOW).
 * Node's lutimes takes float seconds and loses nanoseconds; the copy snapshotter needs exact
 * times so that an untouched copied file compares equal to its original.
 */
napi_value js_lutimens(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  char path[4097];
  int64_t v[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5 || !get_str(env, argv[0], path, sizeof path))
    return bad_args(env, "lutimens(path, atimeSec, atimeNsec, mtimeSec, mtimeNsec)");
  for (int i = 0; i < 4; i++)
    if (napi_get_value_int64(env, argv[i + 1], &v[i]) != napi_ok) return bad_args(env, "lutimens: numbers expected");
  struct timespec ts[2] = {{(time_t)v[0], (long)v[1]}, {(time_t)v[2], (long)v[3]}};
  if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0) return sys_throw_path(env, "utimensat", path, errno);
  return NULL;
}

/*
 * openBeneath(dir, relPath) -> fd: opens a file for reading below `dir` with openat2(2) and
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, so no component of relPath
 * may be a symlink or climb out. Used to read files out of a container's writable layer,
 * which the container itself may be changing (symlink-exchange attacks, CVE-2018-15664).
 */
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>
napi_value js_open_beneath(napi_env env, napi_callback_info info);
napi_value js_open_beneath(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  char dir[4097], rel[4097];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      !get_str(env, argv[0], dir, sizeof dir) || !get_str(env, argv[1], rel, sizeof rel))
    return bad_args(env, "openBeneath(dir, relPath)");
  int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return sys_throw_path(env, "open", dir, errno);
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd;
  do fd = syscall(SYS_openat2, dfd, rel, &how, sizeof how); while (fd < 0 && errno == EAGAIN);
  int err = errno;
  close(dfd);
  if (fd < 0) return sys_throw_path(env, "openat2", rel, err);
  napi_create_int32(env, (int32_t)fd, &result);
  return result;
}
