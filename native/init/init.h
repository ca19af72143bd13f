/*
 * berth-init: shared declarations. The program runs in two processes:
 *   P (stage 1): spawned by Node; joins/creates namespaces, clone()s C, reports C's pid.
 *   C (the container process): finishes the container setup and execve()s the user process.
 * Both talk to Node over one inherited socket (the "sync channel") in length-prefixed frames.
 * The plan format is described in PLAN.md and produced by src/runtime/plan.ts.
 */
#ifndef BERTH_INIT_H
#define BERTH_INIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- sync channel frames (must match FRAME in src/runtime/init-frames.ts) ----
 * The numbers in this file and plan.c's record tags are compared with the TypeScript ones by
 * test/unit/native-constants.test.ts. */
enum frame_type {
  FRAME_PLAN = 1,  /* Node -> P: the plan */
  FRAME_PID = 2,   /* P -> Node: u32 host pid of C */
  FRAME_GO = 3,    /* Node -> C: id maps written, cgroup joined; go on */
  FRAME_HOOKS = 4, /* C -> Node: mounts done, before pivot_root: run prestart/createRuntime */
  FRAME_STATE = 5, /* Node -> C: state JSON for createContainer/startContainer hooks */
  FRAME_READY = 6, /* C -> Node: created; now blocking on the exec fifo */
  FRAME_ERROR = 7, /* P or C -> Node: "<step>: <detail>: <strerror> (ERRNO)" */
  FRAME_SECCOMP = 8,      /* C -> Node: the seccomp listener fd was sent on the listener socket */
  FRAME_SECCOMP_DONE = 9, /* Node -> C: the runtime has handed the listener to the agent */
};

/* ---- plan ---- */
#define PLAN_MAGIC 0x50545242u /* "BRTP" little-endian */
#define PLAN_VERSION 1u

enum plan_mode { MODE_CREATE = 1, MODE_EXEC = 2 };

enum plan_flags {
  PF_FOREGROUND = 1u << 0,
  PF_NO_PIVOT = 1u << 1,
  PF_NO_NEW_KEYRING = 1u << 2,
  PF_ROOT_READONLY = 1u << 3,
  PF_TERMINAL = 1u << 4,
  PF_NO_NEW_PRIVS = 1u << 5,
  PF_NEW_CGROUPNS = 1u << 6,
  /* 1u << 7 is unused (it was a "set umask" flag nothing set or read: T_UMASK carries the umask) */
  PF_LOOPBACK_UP = 1u << 8, /* bring lo up in the new network namespace (engine containers) */
};

enum mount_kind { MK_NORMAL = 0, MK_BIND = 1, MK_CGROUP = 2, MK_TMPCOPYUP = 3 };

struct idmap {
  uint32_t inside, outside, count;
};

struct plan_mount {
  const char *dest, *source, *type, *data;
  uint32_t kind, flags;
  uint32_t propagation[8];
  int npropagation;
  uint64_t attr_set, attr_clr;
  struct idmap *uid_maps, *gid_maps;
  int nuid_maps, ngid_maps;
  int idmap_recursive, has_idmap;
  int idmap_userns_fd; /* made by P before clone */
  int src_tree_fd;     /* bind source cloned by P as host root (userns), or -1 */
};

struct plan_device {
  const char *path;
  uint32_t type; /* S_IFCHR, S_IFBLK, S_IFIFO */
  uint32_t major, minor, mode, uid, gid;
  uint32_t fallback_bind; /* default device: bind-mount the host's node when mknod is denied */
};

struct plan_hook {
  const char *path;
  const char **args; /* NULL-terminated */
  const char **env;  /* NULL-terminated */
  uint32_t timeout;  /* seconds, 0 = none */
};

struct plan_nsjoin {
  uint32_t type; /* CLONE_NEW* */
  const char *path;
};

struct plan_rlimit {
  uint32_t resource;
  uint64_t soft, hard;
};

struct plan_sched {
  uint32_t policy, priority;
  int32_t nice;
  uint64_t flags, runtime, deadline, period;
};

struct plan {
  uint32_t mode, flags, clone_flags, join_pid, rootfs_propagation;
  uint32_t preserve_fds, console_rows, console_cols;
  const char *id, *rootfs, *exec_fifo, *console_socket, *hostname, *domainname, *timens_offsets;
  const char *cwd, *apparmor;
  struct plan_nsjoin *nsjoin;
  int nnsjoin;
  struct plan_mount *mounts;
  int nmounts;
  struct plan_device *devices;
  int ndevices;
  const char **masked;
  int nmasked;
  const char **readonly;
  int nreadonly;
  const char **sysctl_keys, **sysctl_values;
  int nsysctl;
  struct plan_hook *create_hooks, *start_hooks;
  int ncreate_hooks, nstart_hooks;
  const char **args, **env; /* NULL-terminated */
  int nargs, nenv;
  uint32_t uid, gid, umask;
  uint32_t *gids;
  int ngids;
  int has_caps;
  uint64_t cap_bounding, cap_effective, cap_inheritable, cap_permitted, cap_ambient;
  struct plan_rlimit *rlimits;
  int nrlimits;
  int has_oom, has_personality, has_ioprio, has_sched, has_console_size;
  int32_t oom_score_adj;
  uint32_t personality, ioprio;
  struct plan_sched sched;
  const uint8_t *seccomp_filter; /* sock_filter array */
  uint32_t seccomp_len;         /* bytes */
  uint32_t seccomp_flags;
  int has_seccomp;
  int seccomp_listener_sock; /* SECCOMP_FILTER_FLAG_NEW_LISTENER: where C sends the listener */
  int has_seccomp_listener_sock;
};

/* ---- runtime context shared by P and C ---- */
struct init_ctx {
  struct plan plan;
  int sync_fd;
  int console_fd;  /* connected console socket or pty-proxy socket, -1 if none */
  int proxy_pty;   /* P proxies the pty to its own stdio */
  int fifo_fd;     /* O_PATH fd of the exec fifo, -1 if none */
  int host_proc;   /* the host's /proc, kept to reopen the fifo whether or not the container mounts one */
  int rootfd;      /* O_PATH fd of the container's root (before pivot: the rootfs) */
  int proc_mounted;
  /* a read-only mount at /dev was made writable until its devices exist (mounts.c) */
  int dev_readonly;
  char *state_json;
  int seccomp_loaded;
};

/* util.c */
void set_sync_fd(int fd);
__attribute__((noreturn, format(printf, 2, 3))) void fail(const char *step, const char *fmt, ...);
__attribute__((noreturn, format(printf, 2, 3))) void failx(const char *step, const char *fmt, ...);
void send_frame(int fd, uint32_t type, const void *data, uint32_t len);
/* Returns the payload (malloc'd, NUL-terminated for convenience); *len gets its length. */
void *recv_frame(int fd, uint32_t expect, uint32_t *len);
int write_all(int fd, const void *buf, size_t len);
int write_file(const char *path, const char *data);
const char *errno_name(int err);
void *xmalloc(size_t n);

/* seal.c */
void ensure_sealed_exe(char **argv, char **envp);

/* plan.c */
void plan_decode(struct plan *p, const uint8_t *buf, uint32_t len);

/* stage1.c */
__attribute__((noreturn)) void run_stage1(struct init_ctx *ctx);

/* container.c */
__attribute__((noreturn)) void run_container(struct init_ctx *ctx);

/* resolve.c: paths inside a root without escaping it */
int open_in_root(int rootfd, const char *path, int flags);
int mkdir_in_root(int rootfd, const char *path, mode_t mode);
int create_file_in_root(int rootfd, const char *path);
int open_parent_in_root(int rootfd, const char *path, const char **base);
char *fd_path(int fd, char buf[64]);

/* mounts.c */
void do_mounts(struct init_ctx *ctx);
void remount_dev_readonly(struct init_ctx *ctx);
void clone_bind_source(struct plan_mount *m);
uint64_t attrs_of(uint32_t flags, uint64_t *clr); /* MS_* -> MOUNT_ATTR_* set; *clr gets the cleared ones */

/* cgroup-mounts.c */
void cgroup_mount(struct init_ctx *ctx, struct plan_mount *m);

/* idmap.c */
void make_idmap_userns(struct plan_mount *m);
void idmap_tree(int tree, struct plan_mount *m);

/* copyup.c: copies the tree under src_dir into dst_dir (a fresh, still detached tmpfs), and
 * the owner and/or mode of src_dir itself onto dst_dir when asked */
void copy_tree(int src_dir, int dst_dir, const char *dest, int root_owner, int root_mode);

/* devices.c */
void make_devices(struct init_ctx *ctx);

/* rootfs.c */
void prepare_root(struct init_ctx *ctx);
void switch_root(struct init_ctx *ctx);
void masked_and_readonly_paths(struct init_ctx *ctx);
void remount_root_readonly(struct init_ctx *ctx);

/* process.c */
void apply_sysctls(struct init_ctx *ctx);
void apply_process_attrs(struct init_ctx *ctx);
void switch_user_and_caps(struct init_ctx *ctx, int keep_sys_admin);
void enter_cwd(struct init_ctx *ctx);
const char *lookup_executable(struct init_ctx *ctx);

/* seccomp.c */
void load_seccomp(struct init_ctx *ctx);
void loopback_up(void); /* loopback.c */
int seccomp_has_listener(const struct plan *p);

/* console.c */
void setup_console(struct init_ctx *ctx);
int recv_fd(int sock);
void send_fd(int sock, int fd, const char *name);

/* hooks.c */
void run_hooks(struct init_ctx *ctx, const char *kind, struct plan_hook *hooks, int n, int cwdfd); /* cwdfd -1: ours */

#endif
