/*
 * Per-process attributes a runtime sets from config.json's process object: umask, cwd,
 * oom_score_adj, personality, I/O priority and scheduling policy.
 */
#include "checker.h"
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* linux/ioprio.h is not in every libc's headers; the ABI values are fixed. */
#define CHECKER_IOPRIO_WHO_PROCESS 1
#define CHECKER_IOPRIO_CLASS_SHIFT 13

static void emit_umask(void)
{
    /* umask(2) can only be read by setting it; put the old value straight back. */
    mode_t old = umask(0);
    umask(old);
    char text[8];
    snprintf(text, sizeof text, "%04o", (unsigned)old);
    json_string("umask", text);
}

static void emit_cwd(void)
{
    char cwd[PATH_MAX];
    json_string("cwd", getcwd(cwd, sizeof cwd) ? cwd : NULL);
}

static void emit_oom_score_adj(void)
{
    char text[32];
    if (read_small_file("/proc/self/oom_score_adj", text, sizeof text) >= 0)
        json_int("oom_score_adj", strtol(text, NULL, 10));
    else
        json_null("oom_score_adj");
}

static void emit_personality(void)
{
    int persona = personality(0xffffffff);
    json_begin_object("personality");
    json_int("value", persona);
    json_string("domain", (persona & PER_MASK) == PER_LINUX32 ? "LINUX32" :
                          (persona & PER_MASK) == PER_LINUX ? "LINUX" : "OTHER");
    json_end_object();
}

static void emit_ioprio(void)
{
    static const char *const classes[] = {"IOPRIO_CLASS_NONE", "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"};
    long prio = syscall(SYS_ioprio_get, CHECKER_IOPRIO_WHO_PROCESS, 0);
    json_begin_object("ioprio");
    if (prio < 0) {
        json_errno_members(errno);
    } else {
        long cls = prio >> CHECKER_IOPRIO_CLASS_SHIFT;
        json_string("class", cls >= 0 && cls < 4 ? classes[cls] : "unknown");
        json_int("priority", prio & ((1L << CHECKER_IOPRIO_CLASS_SHIFT) - 1));
    }
    json_end_object();
}

static const char *policy_name(int policy)
{
    switch (policy & ~SCHED_RESET_ON_FORK) {
    case SCHED_OTHER: return "SCHED_OTHER";
    case SCHED_FIFO: return "SCHED_FIFO";
    case SCHED_RR: return "SCHED_RR";
    case SCHED_BATCH: return "SCHED_BATCH";
    case SCHED_IDLE: return "SCHED_IDLE";
#ifdef SCHED_DEADLINE
    case SCHED_DEADLINE: return "SCHED_DEADLINE";
#endif
    default: return "unknown";
    }
}

static void emit_scheduler(void)
{
    json_begin_object("scheduler");
    int policy = sched_getscheduler(0);
    if (policy < 0) {
        json_errno_members(errno);
    } else {
        struct sched_param param;
        json_string("policy", policy_name(policy));
        json_bool("reset_on_fork", (policy & SCHED_RESET_ON_FORK) != 0);
        if (sched_getparam(0, &param) == 0)
            json_int("priority", param.sched_priority);
        errno = 0;
        int nice = getpriority(PRIO_PROCESS, 0);
        if (errno == 0)
            json_int("nice", nice);
    }
    json_end_object();
}

void report_process_misc(void)
{
    json_int("pid", getpid());
    json_int("ppid", getppid());
    emit_umask();
    emit_cwd();
    emit_oom_score_adj();
    emit_personality();
    emit_ioprio();
    emit_scheduler();
}
