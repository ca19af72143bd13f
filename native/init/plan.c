/*
 * Decoder of the binary plan (see PLAN.md). Records are {u32 tag, u32 len, payload}; strings
 * are NUL-terminated inside their payload, so the decoded plan points into the frame buffer,
 * which lives as long as the process. Unknown tags are an error: a plan from a newer encoder
 * must not be half-applied. The tags below are compared with T, M, D, H and N in
 * src/runtime/plan.ts by test/unit/native-constants.test.ts.
 */
#include "init.h"

#include <string.h>

enum {
  T_MODE = 1, T_FLAGS = 2, T_CLONE_FLAGS = 3, T_NS_JOIN = 4, T_JOIN_PID = 5, T_TIMENS = 6,
  T_ROOTFS = 7, T_ROOTFS_PROPAGATION = 8, T_EXEC_FIFO = 9, T_CONSOLE_SOCKET = 10,
  T_CONSOLE_SIZE = 11, T_PRESERVE_FDS = 12, T_ID = 13, T_HOSTNAME = 14, T_DOMAINNAME = 15,
  T_MOUNT = 16, T_DEVICE = 17, T_MASKED = 18, T_READONLY = 19, T_SYSCTL = 20,
  T_HOOK_CREATE_CONTAINER = 21, T_HOOK_START_CONTAINER = 22,
  T_ARG = 30, T_ENV = 31, T_CWD = 32, T_USER = 33, T_GIDS = 34, T_UMASK = 35, T_CAPS = 36,
  T_RLIMIT = 37, T_OOM = 38, T_PERSONALITY = 39, T_IOPRIO = 40, T_SCHED = 41, T_SECCOMP = 42,
  T_APPARMOR = 43, T_SECCOMP_LISTENER_SOCKET = 44,
};

enum { M_DEST = 1, M_SOURCE = 2, M_TYPE = 3, M_FLAGS = 4, M_PROPAGATION = 5, M_DATA = 6, M_ATTR = 7,
       M_KIND = 8, M_UIDMAP = 9, M_GIDMAP = 10, M_IDMAP_RECURSIVE = 11, M_IDMAP = 12 };
enum { D_PATH = 1, D_TYPE = 2, D_MAJOR = 3, D_MINOR = 4, D_MODE = 5, D_UID = 6, D_GID = 7, D_FALLBACK = 8 };
enum { H_PATH = 1, H_ARG = 2, H_ENV = 3, H_TIMEOUT = 4 };
enum { N_TYPE = 1, N_PATH = 2 };

struct rec {
  uint32_t tag, len;
  const uint8_t *data;
};

struct cursor {
  const uint8_t *p, *end;
};

static int next(struct cursor *c, struct rec *r) {
  if (c->p == c->end) return 0;
  if (c->end - c->p < 8) failx("plan", "truncated record header");
  memcpy(&r->tag, c->p, 4);
  memcpy(&r->len, c->p + 4, 4);
  c->p += 8;
  if ((size_t)(c->end - c->p) < r->len) failx("plan", "record %u: truncated (%u bytes)", r->tag, r->len);
  r->data = c->p;
  c->p += r->len;
  return 1;
}

static uint32_t u32(const struct rec *r, uint32_t off) {
  uint32_t v;
  if (r->len < off + 4) failx("plan", "record %u: too short for a u32 at %u", r->tag, off);
  memcpy(&v, r->data + off, 4);
  return v;
}

static uint64_t u64(const struct rec *r, uint32_t off) {
  uint64_t v;
  if (r->len < off + 8) failx("plan", "record %u: too short for a u64 at %u", r->tag, off);
  memcpy(&v, r->data + off, 8);
  return v;
}

static const char *str(const struct rec *r) {
  if (r->len == 0 || r->data[r->len - 1] != 0) failx("plan", "record %u: string not NUL-terminated", r->tag);
  return (const char *)r->data;
}

/* Counts records with a tag, so arrays can be allocated before filling. */
static int count(const uint8_t *buf, uint32_t len, uint32_t tag) {
  struct cursor c = {buf, buf + len};
  struct rec r;
  int n = 0;
  while (next(&c, &r))
    if (r.tag == tag) n++;
  return n;
}

static void decode_mount(struct plan_mount *m, const struct rec *outer) {
  struct cursor c = {outer->data, outer->data + outer->len};
  struct rec r;
  memset(m, 0, sizeof *m);
  m->idmap_userns_fd = -1;
  m->src_tree_fd = -1;
  m->nuid_maps = count(outer->data, outer->len, M_UIDMAP);
  m->ngid_maps = count(outer->data, outer->len, M_GIDMAP);
  m->uid_maps = xmalloc(sizeof(struct idmap) * (size_t)m->nuid_maps);
  m->gid_maps = xmalloc(sizeof(struct idmap) * (size_t)m->ngid_maps);
  int nu = 0, ng = 0;
  while (next(&c, &r)) {
    switch (r.tag) {
    case M_DEST: m->dest = str(&r); break;
    case M_SOURCE: m->source = str(&r); break;
    case M_TYPE: m->type = str(&r); break;
    case M_DATA: m->data = str(&r); break;
    case M_FLAGS: m->flags = u32(&r, 0); break;
    case M_KIND: m->kind = u32(&r, 0); break;
    case M_PROPAGATION:
      if (m->npropagation >= 8) failx("plan", "mount %s: too many propagation options", m->dest ? m->dest : "?");
      m->propagation[m->npropagation++] = u32(&r, 0);
      break;
    case M_ATTR: m->attr_set = u64(&r, 0); m->attr_clr = u64(&r, 8); break;
    case M_UIDMAP: m->uid_maps[nu++] = (struct idmap){u32(&r, 0), u32(&r, 4), u32(&r, 8)}; m->has_idmap = 1; break;
    case M_GIDMAP: m->gid_maps[ng++] = (struct idmap){u32(&r, 0), u32(&r, 4), u32(&r, 8)}; m->has_idmap = 1; break;
    case M_IDMAP_RECURSIVE: m->idmap_recursive = 1; m->has_idmap = 1; break;
    case M_IDMAP: m->has_idmap = 1; break;
    default: failx("plan", "mount: unknown field %u", r.tag);
    }
  }
  if (!m->dest) failx("plan", "mount without a destination");
}

static void decode_device(struct plan_device *d, const struct rec *outer) {
  struct cursor c = {outer->data, outer->data + outer->len};
  struct rec r;
  memset(d, 0, sizeof *d);
  while (next(&c, &r)) {
    switch (r.tag) {
    case D_PATH: d->path = str(&r); break;
    case D_TYPE: d->type = u32(&r, 0); break;
    case D_MAJOR: d->major = u32(&r, 0); break;
    case D_MINOR: d->minor = u32(&r, 0); break;
    case D_MODE: d->mode = u32(&r, 0); break;
    case D_UID: d->uid = u32(&r, 0); break;
    case D_GID: d->gid = u32(&r, 0); break;
    case D_FALLBACK: d->fallback_bind = 1; break;
    default: failx("plan", "device: unknown field %u", r.tag);
    }
  }
  if (!d->path) failx("plan", "device without a path");
}

static void decode_hook(struct plan_hook *h, const struct rec *outer) {
  struct cursor c = {outer->data, outer->data + outer->len};
  struct rec r;
  memset(h, 0, sizeof *h);
  int na = count(outer->data, outer->len, H_ARG), ne = count(outer->data, outer->len, H_ENV);
  h->args = xmalloc(sizeof(char *) * (size_t)(na + 1));
  h->env = xmalloc(sizeof(char *) * (size_t)(ne + 1));
  int ia = 0, ie = 0;
  while (next(&c, &r)) {
    switch (r.tag) {
    case H_PATH: h->path = str(&r); break;
    case H_ARG: h->args[ia++] = str(&r); break;
    case H_ENV: h->env[ie++] = str(&r); break;
    case H_TIMEOUT: h->timeout = u32(&r, 0); break;
    default: failx("plan", "hook: unknown field %u", r.tag);
    }
  }
  if (!h->path) failx("plan", "hook without a path");
  if (ia == 0) h->args[0] = h->path;
}

static void decode_nsjoin(struct plan_nsjoin *n, const struct rec *outer) {
  struct cursor c = {outer->data, outer->data + outer->len};
  struct rec r;
  memset(n, 0, sizeof *n);
  while (next(&c, &r)) {
    if (r.tag == N_TYPE) n->type = u32(&r, 0);
    else if (r.tag == N_PATH) n->path = str(&r);
    else failx("plan", "namespace: unknown field %u", r.tag);
  }
  if (!n->path || !n->type) failx("plan", "namespace join without type or path");
}

#define ALLOC(field, nfield, tag, extra)                                 \
  do {                                                                   \
    p->nfield = count(body, blen, tag);                                  \
    p->field = xmalloc(sizeof(*p->field) * (size_t)(p->nfield + extra)); \
  } while (0)

void plan_decode(struct plan *p, const uint8_t *buf, uint32_t len) {
  memset(p, 0, sizeof *p);
  if (len < 8) failx("plan", "too short (%u bytes)", len);
  uint32_t magic, version;
  memcpy(&magic, buf, 4);
  memcpy(&version, buf + 4, 4);
  if (magic != PLAN_MAGIC) failx("plan", "bad magic 0x%08x", magic);
  if (version != PLAN_VERSION) failx("plan", "version %u, this berth-init understands %u (rebuild: npm run install)", version, PLAN_VERSION);
  const uint8_t *body = buf + 8;
  uint32_t blen = len - 8;

  ALLOC(nsjoin, nnsjoin, T_NS_JOIN, 0);
  ALLOC(mounts, nmounts, T_MOUNT, 0);
  ALLOC(devices, ndevices, T_DEVICE, 0);
  ALLOC(masked, nmasked, T_MASKED, 0);
  ALLOC(readonly, nreadonly, T_READONLY, 0);
  ALLOC(sysctl_keys, nsysctl, T_SYSCTL, 0);
  p->sysctl_values = xmalloc(sizeof(char *) * (size_t)(p->nsysctl + 1));
  ALLOC(create_hooks, ncreate_hooks, T_HOOK_CREATE_CONTAINER, 0);
  ALLOC(start_hooks, nstart_hooks, T_HOOK_START_CONTAINER, 0);
  ALLOC(args, nargs, T_ARG, 1);
  ALLOC(env, nenv, T_ENV, 1);
  ALLOC(rlimits, nrlimits, T_RLIMIT, 0);
  p->umask = 022;

  int i_ns = 0, i_m = 0, i_d = 0, i_mask = 0, i_ro = 0, i_sys = 0, i_ch = 0, i_sh = 0, i_a = 0, i_e = 0, i_rl = 0;
  struct cursor c = {body, body + blen};
  struct rec r;
  while (next(&c, &r)) {
    switch (r.tag) {
    case T_MODE: p->mode = u32(&r, 0); break;
    case T_FLAGS: p->flags = u32(&r, 0); break;
    case T_CLONE_FLAGS: p->clone_flags = u32(&r, 0); break;
    case T_NS_JOIN: decode_nsjoin(&p->nsjoin[i_ns++], &r); break;
    case T_JOIN_PID: p->join_pid = u32(&r, 0); break;
    case T_TIMENS: p->timens_offsets = str(&r); break;
    case T_ROOTFS: p->rootfs = str(&r); break;
    case T_ROOTFS_PROPAGATION: p->rootfs_propagation = u32(&r, 0); break;
    case T_EXEC_FIFO: p->exec_fifo = str(&r); break;
    case T_CONSOLE_SOCKET: p->console_socket = str(&r); break;
    case T_CONSOLE_SIZE: p->console_rows = u32(&r, 0); p->console_cols = u32(&r, 4); p->has_console_size = 1; break;
    case T_PRESERVE_FDS: p->preserve_fds = u32(&r, 0); break;
    case T_ID: p->id = str(&r); break;
    case T_HOSTNAME: p->hostname = str(&r); break;
    case T_DOMAINNAME: p->domainname = str(&r); break;
    case T_MOUNT: decode_mount(&p->mounts[i_m++], &r); break;
    case T_DEVICE: decode_device(&p->devices[i_d++], &r); break;
    case T_MASKED: p->masked[i_mask++] = str(&r); break;
    case T_READONLY: p->readonly[i_ro++] = str(&r); break;
    case T_SYSCTL: {
      const char *k = str(&r);
      size_t kl = strlen(k);
      if (kl + 1 >= r.len) failx("plan", "sysctl %s: no value", k);
      p->sysctl_keys[i_sys] = k;
      p->sysctl_values[i_sys++] = k + kl + 1;
      break;
    }
    case T_HOOK_CREATE_CONTAINER: decode_hook(&p->create_hooks[i_ch++], &r); break;
    case T_HOOK_START_CONTAINER: decode_hook(&p->start_hooks[i_sh++], &r); break;
    case T_ARG: p->args[i_a++] = str(&r); break;
    case T_ENV: p->env[i_e++] = str(&r); break;
    case T_CWD: p->cwd = str(&r); break;
    case T_USER: p->uid = u32(&r, 0); p->gid = u32(&r, 4); break;
    case T_GIDS:
      p->ngids = (int)(r.len / 4);
      p->gids = xmalloc(sizeof(uint32_t) * (size_t)p->ngids);
      for (int i = 0; i < p->ngids; i++) p->gids[i] = u32(&r, (uint32_t)i * 4);
      break;
    case T_UMASK: p->umask = u32(&r, 0); break;
    case T_CAPS:
      p->has_caps = 1;
      p->cap_bounding = u64(&r, 0);
      p->cap_effective = u64(&r, 8);
      p->cap_inheritable = u64(&r, 16);
      p->cap_permitted = u64(&r, 24);
      p->cap_ambient = u64(&r, 32);
      break;
    case T_RLIMIT:
      p->rlimits[i_rl++] = (struct plan_rlimit){u32(&r, 0), u64(&r, 4), u64(&r, 12)};
      break;
    case T_OOM: p->has_oom = 1; p->oom_score_adj = (int32_t)u32(&r, 0); break;
    case T_PERSONALITY: p->has_personality = 1; p->personality = u32(&r, 0); break;
    case T_IOPRIO: p->has_ioprio = 1; p->ioprio = u32(&r, 0); break;
    case T_SCHED:
      p->has_sched = 1;
      p->sched.policy = u32(&r, 0);
      p->sched.nice = (int32_t)u32(&r, 4);
      p->sched.priority = u32(&r, 8);
      p->sched.flags = u64(&r, 12);
      p->sched.runtime = u64(&r, 20);
      p->sched.deadline = u64(&r, 28);
      p->sched.period = u64(&r, 36);
      break;
    case T_SECCOMP:
      p->has_seccomp = 1;
      p->seccomp_flags = u32(&r, 0);
      p->seccomp_filter = r.data + 4;
      p->seccomp_len = r.len - 4;
      if (r.len < 4 || p->seccomp_len % 8 != 0 || p->seccomp_len == 0) failx("plan", "seccomp filter of %u bytes is not a sock_filter array", r.len);
      break;
    case T_APPARMOR: p->apparmor = str(&r); break;
    case T_SECCOMP_LISTENER_SOCKET:
      p->seccomp_listener_sock = (int)u32(&r, 0);
      p->has_seccomp_listener_sock = 1;
      break;
    default: failx("plan", "unknown record %u", r.tag);
    }
  }
  if (p->mode != MODE_CREATE && p->mode != MODE_EXEC) failx("plan", "bad mode %u", p->mode);
  if (p->nargs == 0) failx("plan", "process.args is empty");
  if (!p->cwd) p->cwd = "/";
  if (p->mode == MODE_CREATE && !p->rootfs) failx("plan", "create without a rootfs");
}
