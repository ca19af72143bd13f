/*
 * Whether a file can be opened for reading or writing. The report uses it on /proc/1/exe
 * (a runtime that leaves its own binary reachable and writable there is exploitable, as in
 * CVE-2019-5736); the open-read/open-write subcommands use it on any path.
 */
#include "checker.h"
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>

/* Emits {"ok": bool, "errno": ...} for one open attempt; never leaves the file open. */
static int emit_open_attempt(const char *key, const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    json_begin_object(key);
    json_bool("ok", fd >= 0);
    json_errno_members(err);
    json_end_object();
    return fd >= 0;
}

void report_exe_access(const char *path)
{
    json_begin_object("exe_access");
    json_string("path", path);
    emit_open_attempt("read", path, O_RDONLY);
    emit_open_attempt("write", path, O_WRONLY);
    json_end_object();
}

int cmd_open(const char *path, int write, int create)
{
    int flags = write ? O_WRONLY : O_RDONLY;
    if (create)
        flags |= O_CREAT;
    json_begin_object(NULL);
    json_string("path", path);
    json_string("mode", write ? "write" : "read");
    int fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644);
    json_bool("ok", fd >= 0);
    json_errno_members(fd >= 0 ? 0 : errno);
    if (fd >= 0)
        close(fd);
    json_end_object();
    json_finish();
    return 0;
}

int cmd_exe_access(const char *pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/exe", pid);
    json_begin_object(NULL);
    report_exe_access(path);
    json_end_object();
    json_finish();
    return 0;
}
