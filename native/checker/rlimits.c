/* Every resource limit, keyed by its OCI name; RLIM_INFINITY is printed as -1. */
#include "checker.h"
#include "json.h"

#include <sys/resource.h>

static const struct { int resource; const char *name; } limits[] = {
    {RLIMIT_CPU, "RLIMIT_CPU"}, {RLIMIT_FSIZE, "RLIMIT_FSIZE"}, {RLIMIT_DATA, "RLIMIT_DATA"},
    {RLIMIT_STACK, "RLIMIT_STACK"}, {RLIMIT_CORE, "RLIMIT_CORE"}, {RLIMIT_RSS, "RLIMIT_RSS"},
    {RLIMIT_NPROC, "RLIMIT_NPROC"}, {RLIMIT_NOFILE, "RLIMIT_NOFILE"},
    {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"}, {RLIMIT_AS, "RLIMIT_AS"}, {RLIMIT_LOCKS, "RLIMIT_LOCKS"},
    {RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"}, {RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"},
    {RLIMIT_NICE, "RLIMIT_NICE"}, {RLIMIT_RTPRIO, "RLIMIT_RTPRIO"}, {RLIMIT_RTTIME, "RLIMIT_RTTIME"},
};

static void emit_limit_value(const char *key, rlim_t value)
{
    if (value == RLIM_INFINITY)
        json_int(key, -1);
    else
        json_uint(key, (unsigned long long)value);
}

void report_rlimits(void)
{
    json_begin_object("rlimits");
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        struct rlimit rl;
        if (getrlimit((__rlimit_resource_t)limits[i].resource, &rl) != 0)
            continue;
        json_begin_object(limits[i].name);
        emit_limit_value("soft", rl.rlim_cur);
        emit_limit_value("hard", rl.rlim_max);
        json_end_object();
    }
    json_end_object();
}
