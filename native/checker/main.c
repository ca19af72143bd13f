/* berth-checker entry point: dispatches the subcommand named in argv[1]. */
#include "checker.h"

#include <stdio.h>
#include <string.h>

static int usage(void)
{
    fputs("usage: berth-checker report\n"
          "       berth-checker stat PATH...      (follows symlinks)\n"
          "       berth-checker lstat PATH...\n"
          "       berth-checker open-read PATH\n"
          "       berth-checker open-write PATH [--create]\n"
          "       berth-checker exe-access [PID]  (open /proc/PID/exe, default 1)\n"
          "       berth-checker syscall NAME|NUMBER\n"
          "       berth-checker tiocsti TEXT       (push TEXT into fds 0-2 and /dev/tty)\n"
          "       berth-checker nested-mount TYPE TARGET (in user+mount+pid namespaces of its own)\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];
    if (strcmp(cmd, "report") == 0)
        return cmd_report();
    if (strcmp(cmd, "stat") == 0 && argc >= 3)
        return cmd_stat(argc - 2, argv + 2, 1);
    if (strcmp(cmd, "lstat") == 0 && argc >= 3)
        return cmd_stat(argc - 2, argv + 2, 0);
    if (strcmp(cmd, "open-read") == 0 && argc == 3)
        return cmd_open(argv[2], 0, 0);
    if (strcmp(cmd, "open-write") == 0 && (argc == 3 || (argc == 4 && strcmp(argv[3], "--create") == 0)))
        return cmd_open(argv[2], 1, argc == 4);
    if (strcmp(cmd, "exe-access") == 0 && argc <= 3)
        return cmd_exe_access(argc == 3 ? argv[2] : "1");
    if (strcmp(cmd, "syscall") == 0 && argc == 3)
        return cmd_syscall(argv[2]);
    if (strcmp(cmd, "tiocsti") == 0 && argc == 3)
        return cmd_tiocsti(argv[2]);
    if (strcmp(cmd, "nested-mount") == 0 && argc == 4)
        return cmd_nested_mount(argv[2], argv[3]);
    return usage();
}
