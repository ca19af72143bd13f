/* Cgroup membership from /proc/self/cgroup: {hierarchy, controllers, path} per line. */
#include "checker.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

void report_cgroups(void)
{
    char text[8192];
    json_begin_array("cgroup");
    if (read_small_file("/proc/self/cgroup", text, sizeof text) >= 0) {
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            /* "hierarchy-id:controller-list:path"; the path may itself contain ':'. */
            char *first = strchr(line, ':');
            char *second = first ? strchr(first + 1, ':') : NULL;
            if (!second)
                continue;
            *first = '\0';
            *second = '\0';
            json_begin_object(NULL);
            json_int("hierarchy", strtol(line, NULL, 10));
            json_string("controllers", first + 1);
            json_string("path", second + 1);
            json_end_object();
        }
    }
    json_end_array();
}
