/*
 * CVE-2019-5736: a container process that can open /proc/<pid>/exe of a runtime process in
 * its namespaces could overwrite the runtime binary on the host. berth-init therefore runs
 * from a sealed in-memory copy of itself: the memfd cannot be written, grown or shrunk, and
 * the host file is no longer mapped by any process that enters a container.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define ALL_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int is_sealed_self(void) {
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  int seals = fcntl(fd, F_GET_SEALS);
  close(fd);
  return seals >= 0 && (seals & ALL_SEALS) == ALL_SEALS;
}

void ensure_sealed_exe(char **argv, char **envp) {
  if (is_sealed_self()) return;
  int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (src < 0) fail("seal", "open /proc/self/exe");
  struct stat st;
  if (fstat(src, &st) < 0) fail("seal", "fstat /proc/self/exe");
  int mfd = memfd_create("berth-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) fail("seal", "memfd_create");
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = sendfile(mfd, src, NULL, (size_t)left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("seal", "copy /proc/self/exe into a memfd");
    left -= n;
  }
  close(src);
  if (fcntl(mfd, F_ADD_SEALS, ALL_SEALS) < 0) fail("seal", "F_ADD_SEALS");
  fexecve(mfd, argv, envp);
  fail("seal", "fexecve of the sealed copy");
}
