/*
 * Id-mapped bind mounts (OCI "idmap"/"ridmap" options, MOUNT_ATTR_IDMAP): the mount's files
 * appear owned through a user namespace's mappings. P makes that namespace before clone
 * (make_idmap_userns); C applies it to the detached bind tree before attaching it
 * (idmap_tree, from bind_mount in mounts.c).
 */
#include "init.h"
#include "mountapi.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A user namespace with the mount's id mappings, for MOUNT_ATTR_IDMAP. Made by P (which is
 * host root) before clone: a child enters a new user namespace, we write its maps, keep an fd
 * to its namespace and let the child go. */
void make_idmap_userns(struct plan_mount *m) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) fail("idmap", "pipe");
  pid_t pid = fork();
  if (pid < 0) fail("idmap", "fork");
  if (pid == 0) {
    close(pipefd[1]);
    if (unshare(CLONE_NEWUSER) < 0) _exit(1);
    char c;
    /* wait until the parent has opened our namespace */
    while (read(pipefd[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(pipefd[0]);
  char path[64], buf[4096];
  /* wait for the child to have unshared: its ns/user link changes */
  struct stat self, other;
  stat("/proc/self/ns/user", &self);
  for (int i = 0; i < 100000; i++) {
    snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
    if (stat(path, &other) == 0 && other.st_ino != self.st_ino) break;
    usleep(100);
  }
  for (int k = 0; k < 2; k++) {
    struct idmap *maps = k == 0 ? m->uid_maps : m->gid_maps;
    int n = k == 0 ? m->nuid_maps : m->ngid_maps;
    size_t off = 0;
    for (int i = 0; i < n; i++)
      off += (size_t)snprintf(buf + off, sizeof buf - off, "%u %u %u\n", maps[i].inside, maps[i].outside, maps[i].count);
    snprintf(path, sizeof path, "/proc/%d/%s", pid, k == 0 ? "uid_map" : "gid_map");
    if (n && write_file(path, buf) < 0) fail("idmap", "write %s for mount %s", path, m->dest);
  }
  snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
  m->idmap_userns_fd = open(path, O_RDONLY | O_CLOEXEC);
  if (m->idmap_userns_fd < 0) fail("idmap", "open %s", path);
  close(pipefd[1]);
  waitpid(pid, NULL, 0);
}

/* Applies the mount's id mappings to `tree` (a detached clone, from open_tree): those of the
 * namespace P made for it, or without mappings of its own, the container's. */
void idmap_tree(int tree, struct plan_mount *m) {
  int userns = m->idmap_userns_fd;
  if (userns < 0) userns = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC); /* the container's mappings */
  struct b_mount_attr a = {.attr_set = B_MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
  unsigned at = AT_EMPTY_PATH | (m->idmap_recursive ? AT_RECURSIVE : 0);
  if (b_mount_setattr(tree, "", at, &a) < 0) fail("mount", "%s: idmap (does the filesystem of %s support idmapped mounts?)", m->dest, m->source);
}
