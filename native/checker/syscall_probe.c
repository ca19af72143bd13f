/*
 * `syscall NAME`: makes one harmless call of the named system call and prints its result
 * and errno, so tests can tell whether a seccomp filter, a missing capability or the
 * kernel refused it. Every probe is chosen to have no lasting effect when it succeeds.
 * `syscall NUMBER` (decimal or 0x-hex) makes the raw call with all-zero arguments: for
 * numbers no kernel or syscall table knows, to see what a seccomp filter answers for them.
 */
#include "checker.h"
#include "json.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PROBE_DIR "/tmp/.berth-checker-probe"

/* keyctl(2) constants, fixed by the kernel ABI (keyutils headers are not always present). */
#define CHECKER_KEYCTL_GET_KEYRING_ID 0
#define CHECKER_KEY_SPEC_SESSION_KEYRING (-3)

static long probe_mkdir(void)
{
    long rc = mkdir(PROBE_DIR, 0700);
    if (rc == 0)
        rmdir(PROBE_DIR);
    return rc;
}

static long probe_mount(void)
{
    /* A private tmpfs on a fresh directory, unmounted again straight away. */
    mkdir(PROBE_DIR, 0700);
    long rc = mount("berth-probe", PROBE_DIR, "tmpfs", 0, "size=4k");
    int err = errno;
    if (rc == 0)
        umount2(PROBE_DIR, MNT_DETACH);
    rmdir(PROBE_DIR);
    errno = err;
    return rc;
}

/* These change only this short-lived process (its UTS namespace, its tracing state). */
static long probe_unshare(void) { return unshare(CLONE_NEWUTS); }
static long probe_keyctl(void) { return syscall(SYS_keyctl, CHECKER_KEYCTL_GET_KEYRING_ID, CHECKER_KEY_SPEC_SESSION_KEYRING, 0); }
static long probe_ptrace(void) { return ptrace(PTRACE_TRACEME, 0, NULL, NULL); }
static long probe_getpid(void) { return syscall(SYS_getpid); }
static long probe_chmod(void) { return chmod("/", 0755); }
static long probe_sethostname(void) { char name[65] = {0}; gethostname(name, 64); return sethostname(name, strlen(name)); }
static long probe_personality(void) { return personality(0xffffffff); }
#ifdef SYS_clone3
/* clone3 with a NULL argument fails with EFAULT/EINVAL in the kernel; a filter answers ENOSYS/EPERM. */
static long probe_clone3(void) { return syscall(SYS_clone3, NULL, 0); }
#endif

static const struct { const char *name; long (*run)(void); } probes[] = {
    {"mkdir", probe_mkdir}, {"mount", probe_mount}, {"unshare", probe_unshare},
    {"keyctl", probe_keyctl}, {"ptrace", probe_ptrace}, {"getpid", probe_getpid},
    {"chmod", probe_chmod}, {"sethostname", probe_sethostname}, {"personality", probe_personality},
#ifdef SYS_clone3
    {"clone3", probe_clone3},
#endif
};

static void report(const char *name, long rc, int err)
{
    json_begin_object(NULL);
    json_string("syscall", name);
    json_int("ret", rc);
    json_errno_members(err);
    json_end_object();
    json_finish();
}

int cmd_syscall(const char *name)
{
    char *end;
    errno = 0;
    long nr = strtol(name, &end, 0);
    if (*name && !*end && errno == 0 && nr >= 0) {
        errno = 0;
        long rc = syscall(nr, 0L, 0L, 0L, 0L, 0L, 0L);
        report(name, rc, rc < 0 ? errno : 0);
        return 0;
    }
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        if (strcmp(probes[i].name, name) != 0)
            continue;
        errno = 0;
        long rc = probes[i].run();
        report(name, rc, rc < 0 ? errno : 0);
        return 0;
    }
    fprintf(stderr, "berth-checker: unknown syscall probe \"%s\" (or pass a number); known:", name);
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
        fprintf(stderr, " %s", probes[i].name);
    fputc('\n', stderr);
    return 2;
}
