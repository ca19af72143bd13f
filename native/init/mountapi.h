/* The new mount API (Linux 5.2+, mount_setattr 5.12+). Declared here rather than taken from
 * <linux/mount.h>, whose definitions clash with <sys/mount.h> on some glibc versions. */
#ifndef BERTH_MOUNTAPI_H
#define BERTH_MOUNTAPI_H

#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#define B_OPEN_TREE_CLONE 1
#define B_MOVE_MOUNT_F_EMPTY_PATH 0x04
#define B_MOVE_MOUNT_T_EMPTY_PATH 0x40
#define B_FSCONFIG_SET_FLAG 0
#define B_FSCONFIG_SET_STRING 1
#define B_FSCONFIG_CMD_CREATE 6
#define B_FSMOUNT_CLOEXEC 1
#define B_FSOPEN_CLOEXEC 1

#define B_MOUNT_ATTR_RDONLY 0x1
#define B_MOUNT_ATTR_NOSUID 0x2
#define B_MOUNT_ATTR_NODEV 0x4
#define B_MOUNT_ATTR_NOEXEC 0x8
#define B_MOUNT_ATTR__ATIME 0x70
#define B_MOUNT_ATTR_NOATIME 0x10
#define B_MOUNT_ATTR_STRICTATIME 0x20
#define B_MOUNT_ATTR_NODIRATIME 0x80
#define B_MOUNT_ATTR_IDMAP 0x100000
#define B_MOUNT_ATTR_NOSYMFOLLOW 0x200000

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

struct b_mount_attr {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static inline int b_open_tree(int dfd, const char *path, unsigned flags) {
  return (int)syscall(428, dfd, path, flags);
}
static inline int b_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned flags) {
  return (int)syscall(429, from_dfd, from, to_dfd, to, flags);
}
static inline int b_fsopen(const char *fs, unsigned flags) { return (int)syscall(430, fs, flags); }
static inline int b_fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux) {
  return (int)syscall(431, fd, cmd, key, value, aux);
}
static inline int b_fsmount(int fd, unsigned flags, unsigned attrs) { return (int)syscall(432, fd, flags, attrs); }
static inline int b_mount_setattr(int dfd, const char *path, unsigned flags, struct b_mount_attr *a) {
  return (int)syscall(442, dfd, path, flags, a, sizeof *a);
}

#endif
