/* Open file descriptors with their link targets, excluding the one used to list them. */
#include "checker.h"
#include "json.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void report_fds(void)
{
    json_begin_array("fds");
    DIR *dir = opendir("/proc/self/fd");
    if (dir) {
        int own = dirfd(dir);
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (entry->d_name[0] == '.')
                continue;
            int fd = atoi(entry->d_name);
            if (fd == own)
                continue;
            char link[64], target[PATH_MAX];
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            ssize_t n = readlink(link, target, sizeof target - 1);
            json_begin_object(NULL);
            json_int("fd", fd);
            if (n >= 0) {
                target[n] = '\0';
                json_string("target", target);
            } else {
                json_null("target");
            }
            json_end_object();
        }
        closedir(dir);
    }
    json_end_array();
}
