/*
 * Whether this process can push input into a terminal with TIOCSTI: through its stdio fds
 * and through /dev/tty (its controlling terminal). A container process that can is able to
 * type commands into whatever shell reads that terminal, an operator's on the host included.
 * `berth-checker tiocsti TEXT` tries each target and prints one JSON object; exit status 1
 * when any target accepted the text.
 */
#include "checker.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Pushes `text` byte by byte; returns 0 or the errno of the first refusal. */
static int push(int fd, const char *text)
{
    for (const char *c = text; *c; c++)
        if (ioctl(fd, TIOCSTI, c) < 0)
            return errno;
    return 0;
}

static int emit_attempt(const char *target, int fd, int open_err, const char *text)
{
    int err = fd < 0 ? open_err : push(fd, text);
    json_begin_object(NULL);
    json_string("target", target);
    json_bool("ok", err == 0);
    json_errno_members(err);
    json_end_object();
    return err == 0;
}

int cmd_tiocsti(const char *text)
{
    int any = 0;
    json_begin_object(NULL);
    json_begin_array("attempts");
    static const char *const names[] = {"fd0", "fd1", "fd2"};
    for (int fd = 0; fd < 3; fd++)
        any |= emit_attempt(names[fd], fd, 0, text);
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    any |= emit_attempt("/dev/tty", tty, errno, text);
    if (tty >= 0)
        close(tty);
    json_end_array();
    json_end_object();
    json_finish();
    return any ? 1 : 0;
}
