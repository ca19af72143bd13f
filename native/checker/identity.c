/* Credentials (real/effective ids, supplementary groups) and the user-namespace id maps. */
#include "checker.h"
#include "json.h"

#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Prints /proc/self/{uid,gid}_map as an array of {container, host, size} triples. */
static void emit_id_map(const char *path, const char *key)
{
    char text[4096];
    json_begin_array(key);
    if (read_small_file(path, text, sizeof text) >= 0) {
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            unsigned long long inside, outside, count;
            if (sscanf(line, "%llu %llu %llu", &inside, &outside, &count) != 3)
                continue;
            json_begin_object(NULL);
            json_uint("container", inside);
            json_uint("host", outside);
            json_uint("size", count);
            json_end_object();
        }
    }
    json_end_array();
}

void report_identity(void)
{
    json_uint("uid", getuid());
    json_uint("euid", geteuid());
    json_uint("gid", getgid());
    json_uint("egid", getegid());

    gid_t groups[256];
    int n = getgroups(256, groups);
    json_begin_array("groups");
    for (int i = 0; i < n; i++)
        json_uint(NULL, groups[i]);
    json_end_array();

    emit_id_map("/proc/self/uid_map", "uid_map");
    emit_id_map("/proc/self/gid_map", "gid_map");

    char setgroups[32];
    if (read_small_file("/proc/self/setgroups", setgroups, sizeof setgroups) >= 0) {
        setgroups[strcspn(setgroups, "\n")] = '\0';
        json_string("setgroups", setgroups);
    } else {
        json_null("setgroups");
    }
}
