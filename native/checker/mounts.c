/* The mount table from /proc/self/mountinfo, one object per line, octal escapes decoded. */
#include "checker.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo; decode in place. */
static char *unescape(char *s)
{
    char *out = s;
    for (char *in = s; *in;) {
        if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' && in[2] >= '0' && in[2] <= '7' &&
            in[3] >= '0' && in[3] <= '7') {
            *out++ = (char)(((in[1] - '0') << 6) | ((in[2] - '0') << 3) | (in[3] - '0'));
            in += 4;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    return s;
}

static void emit_mount_line(char *line)
{
    char *fields[32];
    int count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " ", &save); tok && count < 32; tok = strtok_r(NULL, " ", &save))
        fields[count++] = tok;
    /* Fields: id parent maj:min root mountpoint options [optional...] - fstype source superopts */
    int sep = -1;
    for (int i = 6; i < count; i++)
        if (strcmp(fields[i], "-") == 0) {
            sep = i;
            break;
        }
    if (count < 7 || sep < 0 || sep + 3 > count)
        return;
    json_begin_object(NULL);
    json_int("id", strtol(fields[0], NULL, 10));
    json_int("parent", strtol(fields[1], NULL, 10));
    json_string("dev", fields[2]);
    json_string("root", unescape(fields[3]));
    json_string("mount_point", unescape(fields[4]));
    json_string("options", fields[5]);
    json_begin_array("optional");
    for (int i = 6; i < sep; i++)
        json_string(NULL, fields[i]);
    json_end_array();
    json_string("fstype", fields[sep + 1]);
    json_string("source", unescape(fields[sep + 2]));
    json_string("super_options", sep + 3 < count ? fields[sep + 3] : "");
    json_end_object();
}

void report_mounts(void)
{
    json_begin_array("mounts");
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (f) {
        char line[8192];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = '\0';
            emit_mount_line(line);
        }
        fclose(f);
    }
    json_end_array();
}
