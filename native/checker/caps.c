/*
 * Capability sets as the kernel reports them in /proc/self/status, printed both as the raw
 * hex mask and as sorted CAP_* names so tests can compare them with config.json directly.
 */
#include "checker.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const cap_names[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

static void emit_set(const char *status_text, const char *field, const char *key)
{
    char value[64];
    json_begin_object(key);
    if (!proc_status_field(status_text, field, value, sizeof value)) {
        json_null("hex");
        json_end_object();
        return;
    }
    json_string("hex", value);
    unsigned long long mask = strtoull(value, NULL, 16);
    json_begin_array("names");
    for (unsigned bit = 0; bit < 64; bit++) {
        if (!(mask & (1ULL << bit)))
            continue;
        if (bit < sizeof cap_names / sizeof cap_names[0]) {
            json_string(NULL, cap_names[bit]);
        } else {
            char name[24];
            snprintf(name, sizeof name, "CAP_%u", bit);
            json_string(NULL, name);
        }
    }
    json_end_array();
    json_end_object();
}

void report_caps(const char *status_text)
{
    json_begin_object("caps");
    emit_set(status_text, "CapInh", "inheritable");
    emit_set(status_text, "CapPrm", "permitted");
    emit_set(status_text, "CapEff", "effective");
    emit_set(status_text, "CapBnd", "bounding");
    emit_set(status_text, "CapAmb", "ambient");
    json_end_object();
}
