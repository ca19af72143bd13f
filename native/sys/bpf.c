/*
 * bpfAttachDeviceFilter(cgroupDir, program): loads a BPF_PROG_TYPE_CGROUP_DEVICE program (the
 * instructions are generated in TypeScript, src/cgroups/devices-bpf.ts) and attaches it to a
 * cgroup2 directory with BPF_F_ALLOW_MULTI, which is how cgroup v2 enforces device rules.
 * Device programs already attached to that directory (an earlier create or update) are detached
 * once the new one is in place, so a rule change replaces the filter instead of stacking on it
 * (with ALLOW_MULTI every program must allow an access) and there is no moment without a filter.
 * The attachment keeps the program alive, so all file descriptors are closed before returning.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <node_api.h>

#include "errors.h"

napi_value js_bpf_attach_device_filter(napi_env env, napi_callback_info info);

static long sys_bpf(int cmd, union bpf_attr *attr) {
  return syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

/* Loads the program; on failure reloads with the verifier log on so the error can say why. */
static int load_program(const void *insns, size_t count, char *log, size_t log_size) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)insns;
  attr.insn_cnt = (uint32_t)count;
  attr.license = (uint64_t)(uintptr_t) "Apache-2.0";
  int fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0 || (errno != EINVAL && errno != EACCES)) return fd;
  int saved = errno;
  attr.log_buf = (uint64_t)(uintptr_t)log;
  attr.log_size = (uint32_t)log_size;
  attr.log_level = 1;
  log[0] = '\0';
  if ((fd = (int)sys_bpf(BPF_PROG_LOAD, &attr)) >= 0) return fd;
  errno = saved;
  return -1;
}

#define MAX_OLD_PROGRAMS 64

/* Ids of the device programs attached directly to the cgroup (not inherited ones); -1 on error. */
static int query_programs(int dirfd, uint32_t *ids, uint32_t max) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.query.target_fd = (uint32_t)dirfd;
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
  attr.query.prog_cnt = max;
  if (sys_bpf(BPF_PROG_QUERY, &attr) < 0) return -1;
  return (int)(attr.query.prog_cnt < max ? attr.query.prog_cnt : max);
}

/* Detaches one program by id; a program that vanished meanwhile is not an error. */
static int detach_program(int dirfd, uint32_t id) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_id = id;
  int fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  memset(&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t)dirfd;
  attr.attach_bpf_fd = (uint32_t)fd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  long rc = sys_bpf(BPF_PROG_DETACH, &attr);
  int err = errno;
  close(fd);
  errno = err;
  return rc < 0 && err != ENOENT ? -1 : 0;
}

napi_value js_bpf_attach_device_filter(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_error(env, "EINVAL", "bpfAttachDeviceFilter(cgroupDir, program) needs two arguments");
    return NULL;
  }
  char path[4096];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) {
    napi_throw_error(env, "EINVAL", "bpfAttachDeviceFilter: cgroupDir must be a string");
    return NULL;
  }
  void *data = NULL;
  size_t size = 0;
  if (napi_get_buffer_info(env, argv[1], &data, &size) != napi_ok || size == 0 || size % 8 != 0) {
    napi_throw_error(env, "EINVAL", "bpfAttachDeviceFilter: program must be a Buffer of 8-byte instructions");
    return NULL;
  }

  int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    char what[4200];
    snprintf(what, sizeof what, "open %s", path);
    return sys_throw_detail(env, what, errno, NULL);
  }
  char *log = calloc(1, 65536);
  if (!log) {
    close(dirfd);
    return sys_throw_detail(env, "bpf BPF_PROG_LOAD", ENOMEM, NULL);
  }
  int progfd = load_program(data, size / 8, log, 65536);
  if (progfd < 0) {
    int err = errno;
    /* The last verifier line is the one that states the problem. */
    size_t n = strlen(log);
    while (n > 0 && log[n - 1] == '\n') log[--n] = '\0';
    char *last = strrchr(log, '\n');
    napi_value r = sys_throw_detail(env, "bpf BPF_PROG_LOAD (cgroup device program)", err, last ? last + 1 : log);
    free(log);
    close(dirfd);
    return r;
  }
  free(log);

  uint32_t old[MAX_OLD_PROGRAMS];
  int n_old = query_programs(dirfd, old, MAX_OLD_PROGRAMS);
  if (n_old < 0) n_old = 0; /* kernels without BPF_PROG_QUERY: nothing to replace */

  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t)dirfd;
  attr.attach_bpf_fd = (uint32_t)progfd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  long rc = sys_bpf(BPF_PROG_ATTACH, &attr);
  int err = errno;
  close(progfd);
  if (rc < 0) {
    close(dirfd);
    char what[4200];
    snprintf(what, sizeof what, "bpf BPF_PROG_ATTACH to %s", path);
    return sys_throw_detail(env, what, err, NULL);
  }
  for (int i = 0; i < n_old; i++) {
    if (detach_program(dirfd, old[i]) < 0) {
      err = errno;
      close(dirfd);
      char what[4200];
      snprintf(what, sizeof what, "bpf BPF_PROG_DETACH of the previous device filter from %s", path);
      return sys_throw_detail(env, what, err, NULL);
    }
  }
  close(dirfd);
  return NULL;
}
