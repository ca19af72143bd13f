/* no_new_privs and the seccomp mode (0 disabled, 1 strict, 2 filter) from /proc/self/status. */
#include "checker.h"
#include "json.h"

#include <stdlib.h>

static void emit_numeric_field(const char *status_text, const char *field, const char *key)
{
    char value[32];
    if (proc_status_field(status_text, field, value, sizeof value))
        json_int(key, strtol(value, NULL, 10));
    else
        json_null(key);
}

void report_security(const char *status_text)
{
    emit_numeric_field(status_text, "NoNewPrivs", "no_new_privs");
    emit_numeric_field(status_text, "Seccomp", "seccomp_mode");
    emit_numeric_field(status_text, "Seccomp_filters", "seccomp_filters");
}
