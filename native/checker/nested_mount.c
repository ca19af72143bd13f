/*
 * nested-mount TYPE TARGET: what an unprivileged process inside the container can mount in
 * user, mount and pid namespaces of its own (runc's no_pivot.bats): the kernel allows a new
 * proc or sysfs there only if one of that type is already fully visible in the mount
 * namespace. Prints "mounted" or "refused ERRNO"; maps its own ids as `unshare -r` does.
 */
#include "checker.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_to(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

int cmd_nested_mount(const char *type, const char *target)
{
    char map[64];
    unsigned uid = (unsigned)geteuid(), gid = (unsigned)getegid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) < 0) {
        printf("setup-failed unshare %s\n", strerror(errno));
        return 1;
    }
    snprintf(map, sizeof map, "0 %u 1\n", uid);
    int ok = write_to("/proc/self/uid_map", map) == 0 && write_to("/proc/self/setgroups", "deny") == 0;
    snprintf(map, sizeof map, "0 %u 1\n", gid);
    if (!ok || write_to("/proc/self/gid_map", map) < 0) {
        printf("setup-failed id maps %s\n", strerror(errno));
        return 1;
    }
    pid_t pid = fork(); /* the first child is pid 1 of the new pid namespace */
    if (pid < 0)
        return 1;
    if (pid == 0) {
        if (mount("none", target, type, 0, NULL) == 0)
            printf("mounted\n");
        else
            printf("refused %s\n", errno_name(errno));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    return 0;
}
