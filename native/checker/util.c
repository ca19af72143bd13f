/* Small helpers shared by the report sections. */
#include "checker.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *errno_name(int err)
{
    /* Only the values tests assert on need names; the rest are printed as E<n>. */
    static const struct { int value; const char *name; } names[] = {
        {0, "OK"}, {EPERM, "EPERM"}, {ENOENT, "ENOENT"}, {ESRCH, "ESRCH"}, {EINTR, "EINTR"},
        {EIO, "EIO"}, {ENXIO, "ENXIO"}, {E2BIG, "E2BIG"}, {EBADF, "EBADF"}, {EAGAIN, "EAGAIN"},
        {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"}, {EFAULT, "EFAULT"}, {EBUSY, "EBUSY"},
        {EEXIST, "EEXIST"}, {EXDEV, "EXDEV"}, {ENODEV, "ENODEV"}, {ENOTDIR, "ENOTDIR"},
        {EISDIR, "EISDIR"}, {EINVAL, "EINVAL"}, {EMFILE, "EMFILE"}, {ETXTBSY, "ETXTBSY"},
        {ENOSPC, "ENOSPC"}, {EROFS, "EROFS"}, {ELOOP, "ELOOP"}, {ENOSYS, "ENOSYS"},
        {ENOTEMPTY, "ENOTEMPTY"}, {EOPNOTSUPP, "EOPNOTSUPP"}, {ENAMETOOLONG, "ENAMETOOLONG"},
    };
    static char unknown[16];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].value == err)
            return names[i].name;
    snprintf(unknown, sizeof unknown, "E%d", err);
    return unknown;
}

void json_errno_members(int err)
{
    json_string("errno", errno_name(err));
    json_int("errno_num", err);
}

ssize_t read_small_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t used = 0;
    while (used + 1 < size) {
        ssize_t n = read(fd, buf + used, size - 1 - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    close(fd);
    return (ssize_t)used;
}

const char *proc_status_field(const char *status_text, const char *field, char *out, size_t out_size)
{
    size_t flen = strlen(field);
    for (const char *line = status_text; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > flen && strncmp(line, field, flen) == 0 && line[flen] == ':') {
            const char *v = line + flen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vlen = len - (size_t)(v - line);
            if (vlen >= out_size)
                vlen = out_size - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return out;
        }
        line = eol ? eol + 1 : NULL;
    }
    return NULL;
}
