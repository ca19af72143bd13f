/* The addon's one error constructor; see errors.h. */
#include "errors.h"

#include <stdio.h>
#include <string.h>

napi_value sys_throw_detail(napi_env env, const char *what, int err, const char *detail) {
  /* Paths (PATH_MAX) plus a verifier or dmesg excerpt fit; longer messages are cut, not lost. */
  char msg[8400];
  const char *name = strerrorname_np(err);
  int has_detail = detail != NULL && *detail != '\0';
  snprintf(msg, sizeof msg, "%s: %s%s%s", what, strerror(err), has_detail ? ": " : "", has_detail ? detail : "");
  napi_value code, message, error, errnum;
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_throw(env, error);
  return NULL;
}

napi_value sys_throw(napi_env env, const char *what, int err) {
  return sys_throw_detail(env, what, err, NULL);
}

napi_value sys_throw_path(napi_env env, const char *call, const char *path, int err) {
  char what[4200];
  snprintf(what, sizeof what, "%s %s", call, path ? path : "");
  return sys_throw_detail(env, what, err, NULL);
}
