/*
 * How every binding in the addon reports a failed call: a JS Error whose `code` is the errno's
 * name (ENOENT, EXDEV, ...), whose message names what failed and why, and whose `errno` is the
 * number. src/sys turns these into BerthErrors with hints; keeping one shape here is what lets
 * it do that without knowing which binding threw.
 */
#ifndef BERTH_SYS_ERRORS_H
#define BERTH_SYS_ERRORS_H

#include <node_api.h>

/* "WHAT: strerror(err)". Returns NULL so bindings can `return sys_throw(...)`. */
napi_value sys_throw(napi_env env, const char *what, int err);

/* "WHAT: strerror(err): DETAIL" (DETAIL omitted when NULL or empty), e.g. the kernel's
 * verifier log or overlayfs' complaint from dmesg. */
napi_value sys_throw_detail(napi_env env, const char *what, int err, const char *detail);

/* "CALL PATH: strerror(err)", for calls on one path (mknod /x/dev/null: EPERM ...). */
napi_value sys_throw_path(napi_env env, const char *call, const char *path, int err);

#endif
