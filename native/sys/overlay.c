/*
 * mountOverlay(target, baseDir, lowers[], upper|null, work|null, options[], flags, api) -> "fsmount" | "mount"
 *
 * Deep layer chains do not fit in mount(2)'s option string, which the kernel copies into one
 * page (4096 bytes): 60 layers named by 64-hex chain ids already overflow it. So:
 *  - first choice, the new mount API: fsopen("overlay") and one `lowerdir+` fsconfig per
 *    layer (Linux >= 6.8), each path up to PATH_MAX, no page limit at all;
 *  - fallback, mount(2) with paths relative to baseDir (short index names chosen by the
 *    caller), issued from a helper thread that unshare(CLONE_FS)es before chdir(baseDir), so
 *    the process-wide working directory that Node's libuv threads resolve relative paths
 *    against never changes.
 * Relative paths are relative to baseDir in both cases. `api`: 0 = auto, 1 = new API only,
 * 2 = mount(2) only (the tests force each path). Flags are MS_RDONLY/MS_NOSUID/MS_NODEV.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/mount.h>
#include <node_api.h>

#include "errors.h"

napi_value js_mount_overlay(napi_env env, napi_callback_info info);

#define MAX_LOWERS 500 /* overlayfs' own limit (OVL_MAX_STACK) */
#define PATHBUF 4097

/* malloc'd copy of a string argument, NULL for null/undefined; *ok=0 on a non-string. */
static char *opt_string(napi_env env, napi_value v, int *ok) {
  napi_valuetype t;
  *ok = 1;
  if (napi_typeof(env, v, &t) != napi_ok) { *ok = 0; return NULL; }
  if (t == napi_null || t == napi_undefined) return NULL;
  size_t len = 0;
  if (t != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len >= PATHBUF) { *ok = 0; return NULL; }
  char *s = malloc(len + 1);
  if (!s) { *ok = 0; return NULL; }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

struct request {
  char *target, *base, *upper, *work;
  char *lowers[MAX_LOWERS];
  uint32_t nlowers;
  char *options[64];
  uint32_t noptions;
  unsigned long flags;
};

static void free_request(struct request *r) {
  free(r->target); free(r->base); free(r->upper); free(r->work);
  for (uint32_t i = 0; i < r->nlowers; i++) free(r->lowers[i]);
  for (uint32_t i = 0; i < r->noptions; i++) free(r->options[i]);
}

/* Absolute form of p (relative ones are under base) into out. */
static int absolute(const struct request *r, const char *p, char *out, size_t size) {
  int n = p[0] == '/' ? snprintf(out, size, "%s", p) : snprintf(out, size, "%s/%s", r->base, p);
  return n > 0 && (size_t)n < size;
}

/* Reads the fs_context's message log (the kernel's reason for an EINVAL) into buf. */
static void read_log(int fsfd, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (;;) {
    char line[512];
    ssize_t n = read(fsfd, line, sizeof line - 1);
    if (n <= 0) break;
    line[n] = '\0';
    int w = snprintf(buf + used, size - used, "%s%s", used ? "; " : "", line);
    if (w < 0 || (size_t)w >= size - used) break;
    used += (size_t)w;
  }
}

/* 0, or an errno with *step naming the failing call; ENOPARAM-like failures of lowerdir+ set *fallback. */
static int mount_new_api(const struct request *r, const char **step, char *log, size_t logsize, int *fallback) {
  char path[PATHBUF];
  int err = 0, fsfd = -1, mfd = -1;
  *fallback = 0;
  fsfd = (int)syscall(__NR_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0) { *step = "fsopen overlay"; *fallback = errno == ENOSYS; return errno; }
  for (uint32_t i = 0; i < r->nlowers; i++) {
    if (!absolute(r, r->lowers[i], path, sizeof path)) { *step = "lowerdir+ path"; err = ENAMETOOLONG; goto out; }
    if (syscall(__NR_fsconfig, fsfd, FSCONFIG_SET_STRING, "lowerdir+", path, 0) < 0) {
      err = errno; *step = "fsconfig lowerdir+";
      /* Kernels before 6.8 do not know "lowerdir+": use mount(2) instead. */
      *fallback = i == 0 && err == EINVAL;
      goto out;
    }
  }
  if (r->upper) {
    if (!absolute(r, r->upper, path, sizeof path)) { *step = "upperdir path"; err = ENAMETOOLONG; goto out; }
    if (syscall(__NR_fsconfig, fsfd, FSCONFIG_SET_STRING, "upperdir", path, 0) < 0) { err = errno; *step = "fsconfig upperdir"; goto out; }
  }
  if (r->work) {
    if (!absolute(r, r->work, path, sizeof path)) { *step = "workdir path"; err = ENAMETOOLONG; goto out; }
    if (syscall(__NR_fsconfig, fsfd, FSCONFIG_SET_STRING, "workdir", path, 0) < 0) { err = errno; *step = "fsconfig workdir"; goto out; }
  }
  for (uint32_t i = 0; i < r->noptions; i++) {
    char *eq = strchr(r->options[i], '=');
    long rc;
    if (eq) {
      *eq = '\0';
      rc = syscall(__NR_fsconfig, fsfd, FSCONFIG_SET_STRING, r->options[i], eq + 1, 0);
      *eq = '=';
    } else {
      rc = syscall(__NR_fsconfig, fsfd, FSCONFIG_SET_FLAG, r->options[i], NULL, 0);
    }
    if (rc < 0) { err = errno; *step = "fsconfig option"; goto out; }
  }
  if (syscall(__NR_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) { err = errno; *step = "fsconfig create"; goto out; }
  unsigned int attrs = 0;
  if (r->flags & MS_RDONLY) attrs |= MOUNT_ATTR_RDONLY;
  if (r->flags & MS_NOSUID) attrs |= MOUNT_ATTR_NOSUID;
  if (r->flags & MS_NODEV) attrs |= MOUNT_ATTR_NODEV;
  mfd = (int)syscall(__NR_fsmount, fsfd, FSMOUNT_CLOEXEC, attrs);
  if (mfd < 0) { err = errno; *step = "fsmount"; goto out; }
  if (syscall(__NR_move_mount, mfd, "", AT_FDCWD, r->target, MOVE_MOUNT_F_EMPTY_PATH) < 0) { err = errno; *step = "move_mount"; goto out; }
out:
  if (err && fsfd >= 0) read_log(fsfd, log, logsize);
  if (mfd >= 0) close(mfd);
  if (fsfd >= 0) close(fsfd);
  return err;
}

struct legacy {
  const struct request *r;
  const char *data;
  int err;
  const char *step;
};

static void *legacy_thread(void *p) {
  struct legacy *l = p;
  /* A private fs_struct for this thread: its chdir moves no other thread's cwd. */
  if (unshare(CLONE_FS) < 0) { l->err = errno; l->step = "unshare(CLONE_FS)"; return NULL; }
  if (chdir(l->r->base) < 0) { l->err = errno; l->step = "chdir baseDir"; return NULL; }
  /* syscall(): glibc's <sys/mount.h> clashes with <linux/mount.h>, which the new API needs. */
  if (syscall(__NR_mount, "overlay", l->r->target, "overlay", l->r->flags, l->data) < 0) { l->err = errno; l->step = "mount"; }
  return NULL;
}

static int mount_legacy(const struct request *r, const char **step) {
  long page = sysconf(_SC_PAGESIZE);
  size_t cap = (size_t)(page > 0 ? page : 4096);
  char *data = malloc(cap);
  if (!data) { *step = "malloc"; return ENOMEM; }
  size_t used = 0;
  int n = snprintf(data, cap, "lowerdir=");
  used = (size_t)n;
  for (uint32_t i = 0; i < r->nlowers && used < cap; i++) {
    n = snprintf(data + used, cap - used, "%s%s", i ? ":" : "", r->lowers[i]);
    used = n < 0 ? cap : used + (size_t)n;
  }
  if (r->upper && used < cap) { n = snprintf(data + used, cap - used, ",upperdir=%s", r->upper); used = n < 0 ? cap : used + (size_t)n; }
  if (r->work && used < cap) { n = snprintf(data + used, cap - used, ",workdir=%s", r->work); used = n < 0 ? cap : used + (size_t)n; }
  for (uint32_t i = 0; i < r->noptions && used < cap; i++) {
    n = snprintf(data + used, cap - used, ",%s", r->options[i]);
    used = n < 0 ? cap : used + (size_t)n;
  }
  if (used >= cap) { free(data); *step = "mount data exceeds one page (too many layers for mount(2))"; return E2BIG; }
  struct legacy l = { r, data, 0, NULL };
  pthread_t t;
  int rc = pthread_create(&t, NULL, legacy_thread, &l);
  if (rc != 0) { free(data); *step = "pthread_create"; return rc; }
  pthread_join(t, NULL);
  free(data);
  *step = l.step;
  return l.err;
}

napi_value js_mount_overlay(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8], result;
  struct request r;
  memset(&r, 0, sizeof r);
  int ok = 1, o1, o2, o3, o4;
  uint32_t api = 0, flags = 0;
  bool is_array = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 8) ok = 0;
  if (ok) {
    r.target = opt_string(env, argv[0], &o1);
    r.base = opt_string(env, argv[1], &o2);
    r.upper = opt_string(env, argv[3], &o3);
    r.work = opt_string(env, argv[4], &o4);
    ok = o1 && o2 && o3 && o4 && r.target && r.base;
  }
  if (ok && (napi_get_value_uint32(env, argv[6], &flags) != napi_ok || napi_get_value_uint32(env, argv[7], &api) != napi_ok)) ok = 0;
  if (ok && (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[2], &r.nlowers) != napi_ok ||
             r.nlowers == 0 || r.nlowers > MAX_LOWERS)) ok = 0;
  for (uint32_t i = 0; ok && i < r.nlowers; i++) {
    napi_value v;
    napi_get_element(env, argv[2], i, &v);
    r.lowers[i] = opt_string(env, v, &o1);
    if (!o1 || !r.lowers[i]) { ok = 0; r.nlowers = i + (r.lowers[i] != NULL); }
  }
  if (ok && (napi_is_array(env, argv[5], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[5], &r.noptions) != napi_ok ||
             r.noptions > 64)) { ok = 0; r.noptions = 0; }
  for (uint32_t i = 0; ok && i < r.noptions; i++) {
    napi_value v;
    napi_get_element(env, argv[5], i, &v);
    r.options[i] = opt_string(env, v, &o1);
    if (!o1 || !r.options[i]) { ok = 0; r.noptions = i + (r.options[i] != NULL); }
  }
  if (!ok) {
    free_request(&r);
    napi_throw_type_error(env, "EINVAL", "mountOverlay(target, baseDir, lowers[1..500], upper|null, work|null, options[<=64], flags, api)");
    return NULL;
  }
  r.flags = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV);
  const char *step = "mount", *used = "fsmount";
  char log[4096] = "";
  int err = 0, fallback = api == 2;
  if (api != 2) err = mount_new_api(&r, &step, log, sizeof log, &fallback);
  if (fallback && api != 1) {
    used = "mount";
    log[0] = '\0';
    err = mount_legacy(&r, &step);
  }
  if (err) {
    char what[PATHBUF + 200];
    snprintf(what, sizeof what, "mount overlay on %s (%s)", r.target, step ? step : "mount");
    free_request(&r);
    return sys_throw_detail(env, what, err, log);
  }
  free_request(&r);
  napi_create_string_utf8(env, used, NAPI_AUTO_LENGTH, &result);
  return result;
}
