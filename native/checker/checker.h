/*
 * berth-checker: a static program run inside test containers that prints, as one JSON
 * object, what a process sees of its own execution environment. Each report section
 * lives in its own file; this header lists them and the few shared utilities.
 */
#ifndef BERTH_CHECKER_H
#define BERTH_CHECKER_H

#include <stddef.h>
#include <sys/types.h>

/* ---- util.c ---- */
/* Symbolic name of an errno value ("EPERM"), or "E<n>" for unknown values. */
const char *errno_name(int err);
/* Emits "errno": "EPERM" and "errno_num": 1 members into the current object. */
void json_errno_members(int err);
/* Reads a whole (small) file into buf, NUL-terminated; returns bytes read or -1 (errno set). */
ssize_t read_small_file(const char *path, char *buf, size_t size);
/* Returns the value after "<field>:" in /proc/self/status, trimmed, or NULL. */
const char *proc_status_field(const char *status_text, const char *field, char *out, size_t out_size);

/* ---- report sections (one file each) ---- */
void report_caps(const char *status_text);        /* caps.c: caps, capability names */
void report_security(const char *status_text);    /* security.c: no_new_privs, seccomp */
void report_identity(void);                       /* identity.c: uid/gid/groups, id maps */
void report_uts(void);                            /* uts.c: hostname, domainname */
void report_rlimits(void);                        /* rlimits.c */
void report_process_misc(void);                   /* process.c: umask, cwd, oom, personality, ioprio, sched */
void report_fds(void);                            /* fds.c */
void report_mounts(void);                         /* mounts.c */
void report_cgroups(void);                        /* cgroups.c */
void report_namespaces(void);                     /* namespaces.c */
void report_environment(void);                    /* environment.c */
void report_exe_access(const char *path);         /* access.c: exe of pid 1 */

/* ---- subcommands ---- */
int cmd_report(void);                             /* report.c */
int cmd_stat(int argc, char **argv, int follow);  /* stat.c */
int cmd_open(const char *path, int write, int create); /* access.c */
int cmd_syscall(const char *name);                /* syscall_probe.c */
int cmd_exe_access(const char *pid);              /* access.c */
int cmd_tiocsti(const char *text);                /* tty.c */
int cmd_nested_mount(const char *type, const char *target); /* nested_mount.c */

#endif
