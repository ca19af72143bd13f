/* Namespace identities: the inode number behind each /proc/self/ns/<type> link. */
#include "checker.h"
#include "json.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void report_namespaces(void)
{
    json_begin_object("namespaces");
    DIR *dir = opendir("/proc/self/ns");
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (entry->d_name[0] == '.')
                continue;
            char link[300], target[PATH_MAX];
            snprintf(link, sizeof link, "/proc/self/ns/%s", entry->d_name);
            ssize_t n = readlink(link, target, sizeof target - 1);
            if (n < 0)
                continue;
            target[n] = '\0';
            /* Targets look like "net:[4026531840]". */
            char *open_bracket = strchr(target, '[');
            if (open_bracket)
                json_uint(entry->d_name, strtoull(open_bracket + 1, NULL, 10));
            else
                json_string(entry->d_name, target);
        }
        closedir(dir);
    }
    json_end_object();
}
