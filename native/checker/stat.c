/* `stat PATH...` / `lstat PATH...`: file type, mode, owner and device numbers per path. */
#include "checker.h"
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

static const char *type_name(mode_t mode)
{
    if (S_ISREG(mode)) return "file";
    if (S_ISDIR(mode)) return "dir";
    if (S_ISCHR(mode)) return "char";
    if (S_ISBLK(mode)) return "block";
    if (S_ISLNK(mode)) return "symlink";
    if (S_ISFIFO(mode)) return "fifo";
    if (S_ISSOCK(mode)) return "socket";
    return "unknown";
}

static void emit_one(const char *path, int follow)
{
    struct stat st;
    json_begin_object(NULL);
    json_string("path", path);
    int rc = follow ? stat(path, &st) : lstat(path, &st);
    if (rc != 0) {
        json_bool("ok", 0);
        json_errno_members(errno);
        json_end_object();
        return;
    }
    json_bool("ok", 1);
    json_string("type", type_name(st.st_mode));
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", (unsigned)(st.st_mode & 07777));
    json_string("mode", mode);
    json_uint("uid", st.st_uid);
    json_uint("gid", st.st_gid);
    json_uint("size", (unsigned long long)st.st_size);
    json_uint("ino", (unsigned long long)st.st_ino);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        json_uint("major", major(st.st_rdev));
        json_uint("minor", minor(st.st_rdev));
    }
    /* Mount flags of the filesystem holding the path, for ro/nosuid/noexec checks. */
    struct statvfs vfs;
    if (follow && statvfs(path, &vfs) == 0) {
        json_bool("readonly", (vfs.f_flag & ST_RDONLY) != 0);
        json_bool("nosuid", (vfs.f_flag & ST_NOSUID) != 0);
        json_bool("nodev", (vfs.f_flag & ST_NODEV) != 0);
        json_bool("noexec", (vfs.f_flag & ST_NOEXEC) != 0);
    }
    struct statfs fs;
    if (follow && statfs(path, &fs) == 0) {
        char magic[24];
        snprintf(magic, sizeof magic, "0x%lx", (unsigned long)fs.f_type);
        json_string("fs_magic", magic);
    }
    json_end_object();
}

int cmd_stat(int argc, char **argv, int follow)
{
    json_begin_array(NULL);
    for (int i = 0; i < argc; i++)
        emit_one(argv[i], follow);
    json_end_array();
    json_finish();
    return 0;
}
