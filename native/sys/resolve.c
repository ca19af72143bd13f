/*
 * openInRoot(root, path, flags) -> fd: opens `path` as if `root` were the file system root,
 * with openat2(2) and RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS. Symlinks are followed, but
 * absolute targets and ".." are resolved against `root` and can never leave it; /proc magic
 * links (which would jump anywhere) are refused. The kernel does the whole walk in one
 * call, so a container renaming directories or swapping in symlinks meanwhile cannot steer
 * the lookup onto a host file (CVE-2018-15664, the `docker cp` symlink-exchange race);
 * openat2 answers EAGAIN when a concurrent rename might have moved the walk, and we retry.
 *
 * `root` is opened with O_PATH | O_DIRECTORY and may itself be a magic link such as
 * /proc/self/fd/N or /proc/PID/root: that is the caller's trusted handle on the root.
 *
 * flags (bits): 1 = O_DIRECTORY (the result must be a directory), 2 = O_NOFOLLOW (the last
 * component is not followed when it is a symlink; with 4 the fd then refers to the symlink
 * itself), 4 = O_PATH (no read access asked for: works on FIFOs and device nodes without
 * opening them, and on files we may not read). Without 4 the file is opened read-only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <node_api.h>

#include "errors.h"

#define IN_ROOT_DIRECTORY 1u
#define IN_ROOT_NOFOLLOW 2u
#define IN_ROOT_PATH 4u

napi_value js_open_in_root(napi_env env, napi_callback_info info);

static int get_path(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len + 1 > size) return 0;
  return napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok;
}

napi_value js_open_in_root(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  char root[4097], path[4097];
  uint32_t flags = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 || !get_path(env, argv[0], root, sizeof root) ||
      !get_path(env, argv[1], path, sizeof path) || napi_get_value_uint32(env, argv[2], &flags) != napi_ok ||
      (flags & ~(IN_ROOT_DIRECTORY | IN_ROOT_NOFOLLOW | IN_ROOT_PATH)) != 0) {
    napi_throw_type_error(env, "EINVAL", "openInRoot(root, path, flags: 0..7)");
    return NULL;
  }
  int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return sys_throw_path(env, "open", root, errno);
  struct open_how how;
  memset(&how, 0, sizeof how);
  /* openat2 refuses O_PATH with any flag besides O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC. */
  how.flags = O_CLOEXEC | ((flags & IN_ROOT_PATH) ? O_PATH : O_RDONLY | O_NOCTTY);
  if (flags & IN_ROOT_DIRECTORY) how.flags |= O_DIRECTORY;
  if (flags & IN_ROOT_NOFOLLOW) how.flags |= O_NOFOLLOW;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  /* "" would mean the root itself only with AT_EMPTY_PATH, which openat2 lacks: use ".". */
  const char *rel = path[0] ? path : ".";
  long fd;
  int tries = 0;
  do fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof how); while (fd < 0 && errno == EAGAIN && ++tries < 1000);
  int err = errno;
  close(rootfd);
  if (fd < 0) return sys_throw_path(env, "openat2(RESOLVE_IN_ROOT)", rel, err);
  napi_create_int32(env, (int32_t)fd, &result);
  return result;
}
