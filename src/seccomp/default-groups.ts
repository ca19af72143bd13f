/**
 * The syscalls Berth's default profile allows, grouped by what they are for. Everything not
 * listed gets EPERM. The baseline is "what ordinary programs need and cannot use to reach
 * beyond the container": the kernel's own permission checks (capabilities, namespaces,
 * cgroups) still apply to everything here; this list removes attack surface on top of them.
 *
 * Compared with Docker's default profile it is never wider, and narrower where noted:
 * ptrace & co need CAP_SYS_PTRACE, modify_ldt and the never-implemented epoll_*_old calls
 * are gone, and socket() families are matched exactly (see default-profile.ts).
 */

export interface SyscallGroup {
  /** Why these are allowed (or what they unlock). */
  why: string;
  names: readonly string[];
}

/** Allowed for every container. Names an ABI lacks are skipped by the compiler. */
export const BASE_GROUPS: readonly SyscallGroup[] = [
  {
    why: 'process life cycle, identity and limits of the process itself',
    names: [
      'execve', 'execveat', 'exit', 'exit_group', 'fork', 'vfork', 'wait4', 'waitid', 'waitpid', 'restart_syscall',
      'getpid', 'getppid', 'gettid', 'getpgid', 'getpgrp', 'setpgid', 'getsid', 'setsid', 'set_tid_address',
      'set_robust_list', 'get_robust_list', 'rseq', 'prctl', 'uname', 'sysinfo', 'getcpu', 'umask', 'times',
      'getrusage', 'getrlimit', 'ugetrlimit', 'setrlimit', 'prlimit64', 'getpriority', 'setpriority', 'ioprio_get',
      'ioprio_set', 'capget', 'capset', 'pidfd_open', 'pidfd_send_signal', 'process_mrelease', 'getrandom',
      'membarrier',
    ],
  },
  {
    why: 'user and group ids; the kernel allows changes only with CAP_SETUID/CAP_SETGID',
    names: [
      'getuid', 'getuid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getegid', 'getegid32', 'getresuid',
      'getresuid32', 'getresgid', 'getresgid32', 'getgroups', 'getgroups32', 'setuid', 'setuid32', 'setgid',
      'setgid32', 'setreuid', 'setreuid32', 'setregid', 'setregid32', 'setresuid', 'setresuid32', 'setresgid',
      'setresgid32', 'setgroups', 'setgroups32', 'setfsuid', 'setfsuid32', 'setfsgid', 'setfsgid32',
    ],
  },
  {
    why: 'scheduling of the caller and its children (realtime classes still need CAP_SYS_NICE)',
    names: [
      'sched_yield', 'sched_getaffinity', 'sched_setaffinity', 'sched_getattr', 'sched_setattr', 'sched_getparam',
      'sched_setparam', 'sched_getscheduler', 'sched_setscheduler', 'sched_get_priority_max',
      'sched_get_priority_min', 'sched_rr_get_interval', 'sched_rr_get_interval_time64',
    ],
  },
  {
    why: 'signals',
    names: [
      'kill', 'tkill', 'tgkill', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigpending', 'rt_sigsuspend',
      'rt_sigqueueinfo', 'rt_tgsigqueueinfo', 'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'sigaltstack',
      'sigreturn', 'sigprocmask', 'signalfd', 'signalfd4', 'pause',
    ],
  },
  {
    why: 'threads and futexes',
    names: ['futex', 'futex_time64', 'futex_waitv', 'futex_wait', 'futex_wake', 'futex_requeue'],
  },
  {
    why: 'memory of the process itself',
    names: [
      'brk', 'mmap', 'mmap2', 'munmap', 'mremap', 'mprotect', 'madvise', 'mincore', 'msync', 'mlock', 'mlock2',
      'mlockall', 'munlock', 'munlockall', 'remap_file_pages', 'memfd_create', 'memfd_secret', 'pkey_alloc',
      'pkey_free', 'pkey_mprotect', 'map_shadow_stack', 'mseal',
    ],
  },
  {
    why: 'file descriptors and I/O',
    names: [
      'read', 'write', 'readv', 'writev', 'pread64', 'pwrite64', 'preadv', 'pwritev', 'preadv2', 'pwritev2',
      'lseek', '_llseek', 'close', 'close_range', 'dup', 'dup2', 'dup3', 'fcntl', 'fcntl64', 'ioctl', 'flock',
      'pipe', 'pipe2', 'eventfd', 'eventfd2', 'sendfile', 'sendfile64', 'splice', 'tee', 'vmsplice',
      'copy_file_range', 'readahead', 'fadvise64', 'fadvise64_64', 'fallocate', 'fsync', 'fdatasync', 'sync',
      'syncfs', 'sync_file_range', 'cachestat',
    ],
  },
  {
    why: 'paths, metadata and directories (the mount namespace and DAC decide what is reachable)',
    names: [
      'open', 'openat', 'openat2', 'creat', 'access', 'faccessat', 'faccessat2', 'stat', 'stat64', 'lstat', 'lstat64',
      'fstat', 'fstat64', 'fstatat64', 'newfstatat', 'statx', 'statfs', 'statfs64', 'fstatfs', 'fstatfs64',
      'getcwd', 'chdir', 'fchdir', 'mkdir', 'mkdirat', 'rmdir', 'rename', 'renameat', 'renameat2', 'link', 'linkat',
      'unlink', 'unlinkat', 'symlink', 'symlinkat', 'readlink', 'readlinkat', 'chmod', 'fchmod', 'fchmodat',
      'fchmodat2', 'chown', 'chown32', 'fchown', 'fchown32', 'fchownat', 'lchown', 'lchown32', 'truncate',
      'truncate64', 'ftruncate', 'ftruncate64', 'utime', 'utimes', 'utimensat', 'utimensat_time64', 'futimesat',
      'getdents', 'getdents64', 'mknod', 'mknodat', 'name_to_handle_at', 'statmount', 'listmount',
    ],
  },
  {
    why: 'extended attributes',
    names: [
      'getxattr', 'lgetxattr', 'fgetxattr', 'getxattrat', 'listxattr', 'llistxattr', 'flistxattr', 'listxattrat',
      'setxattr', 'lsetxattr', 'fsetxattr', 'setxattrat', 'removexattr', 'lremovexattr', 'fremovexattr',
      'removexattrat',
    ],
  },
  {
    why: 'file change notification (fanotify_init needs CAP_SYS_ADMIN, below)',
    names: ['inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch', 'fanotify_mark'],
  },
  {
    why: 'waiting: poll, select, epoll, sleeps',
    names: [
      'poll', 'ppoll', 'ppoll_time64', 'select', '_newselect', 'pselect6', 'pselect6_time64', 'epoll_create',
      'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2', 'nanosleep', 'clock_nanosleep',
      'clock_nanosleep_time64',
    ],
  },
  {
    why: 'clocks and timers (setting the clock needs CAP_SYS_TIME, below; adjtimex only reads without it)',
    names: [
      'time', 'gettimeofday', 'clock_gettime', 'clock_gettime64', 'clock_getres', 'clock_getres_time64', 'adjtimex',
      'clock_adjtime', 'clock_adjtime64', 'alarm', 'getitimer', 'setitimer', 'timer_create', 'timer_delete',
      'timer_getoverrun', 'timer_gettime', 'timer_gettime64', 'timer_settime', 'timer_settime64', 'timerfd_create',
      'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime', 'timerfd_settime64',
    ],
  },
  {
    why: 'System V and POSIX IPC (scoped by the IPC namespace)',
    names: [
      'ipc', 'msgget', 'msgsnd', 'msgrcv', 'msgctl', 'semget', 'semop', 'semtimedop', 'semtimedop_time64', 'semctl',
      'shmget', 'shmat', 'shmdt', 'shmctl', 'mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedsend_time64',
      'mq_timedreceive', 'mq_timedreceive_time64', 'mq_notify', 'mq_getsetattr',
    ],
  },
  {
    // socket() itself is argument-filtered (default-profile.ts). socketcall is i386's
    // multiplexer: its arguments live in memory where a filter cannot see them, so it cannot
    // be filtered like socket(); it stays allowed because 32-bit libcs still use it.
    why: 'sockets (scoped by the network namespace)',
    names: [
      'socketpair', 'bind', 'connect', 'listen', 'accept', 'accept4', 'getsockname', 'getpeername', 'getsockopt',
      'setsockopt', 'shutdown', 'send', 'sendto', 'sendmsg', 'sendmmsg', 'recv', 'recvfrom', 'recvmsg', 'recvmmsg',
      'recvmmsg_time64', 'socketcall',
    ],
  },
  {
    why: 'asynchronous I/O (io_uring is left out: its large, fast-moving surface has been a steady source of kernel exploits)',
    names: ['io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64'],
  },
  {
    why: 'a process may restrict itself further',
    names: ['seccomp', 'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self'],
  },
];

/** Extra syscalls by native architecture (they exist only there; libcs use them at start-up). */
export const ARCH_GROUPS: Readonly<Record<string, SyscallGroup>> = {
  SCMP_ARCH_X86_64: { why: 'x86 thread-local storage and uretprobe trampolines', names: ['arch_prctl', 'get_thread_area', 'set_thread_area', 'uretprobe'] },
  SCMP_ARCH_X86: { why: 'x86 thread-local storage', names: ['get_thread_area', 'set_thread_area'] },
  SCMP_ARCH_AARCH64: {
    why: 'arm compat: TLS, cache flushing and argument-reordered variants',
    names: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'],
  },
  SCMP_ARCH_ARM: {
    why: 'arm: TLS, cache flushing and argument-reordered variants',
    names: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'],
  },
  SCMP_ARCH_PPC64LE: { why: 'powerpc variants', names: ['sync_file_range2', 'swapcontext'] },
  SCMP_ARCH_S390X: { why: 's390 PCI MMIO and runtime instrumentation', names: ['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr'] },
  SCMP_ARCH_RISCV64: { why: 'riscv cache flushing and hardware probing', names: ['riscv_flush_icache', 'riscv_hwprobe'] },
};

/**
 * Syscalls unlocked by a capability in the container's bounding set: the capability already
 * grants the power these syscalls exercise, so the filter stops adding protection there.
 * A syscall listed under several capabilities is allowed when any of them is present.
 */
export const CAPABILITY_GROUPS: ReadonlyArray<{ caps: readonly string[]; why: string; names: readonly string[] }> = [
  {
    caps: ['CAP_SYS_ADMIN'],
    why: 'mounts, namespaces, host and domain names, quotas, new mount API',
    names: [
      'mount', 'umount', 'umount2', 'mount_setattr', 'move_mount', 'open_tree', 'fsopen', 'fsconfig', 'fsmount',
      'fspick', 'unshare', 'setns', 'sethostname', 'setdomainname', 'quotactl', 'quotactl_fd', 'fanotify_init',
      'lookup_dcookie', 'lsm_get_self_attr', 'lsm_set_self_attr', 'lsm_list_modules',
    ],
  },
  { caps: ['CAP_SYS_ADMIN', 'CAP_BPF'], why: 'eBPF programs and maps', names: ['bpf'] },
  { caps: ['CAP_SYS_ADMIN', 'CAP_PERFMON'], why: 'performance monitoring', names: ['perf_event_open'] },
  { caps: ['CAP_SYS_ADMIN', 'CAP_SYSLOG'], why: 'the kernel log', names: ['syslog'] },
  {
    // Open-by-handle skips path lookup entirely: without CAP_DAC_READ_SEARCH being meaningful
    // it let a container open host files by guessed handles ("shocker", 2014).
    caps: ['CAP_DAC_READ_SEARCH'],
    why: 'opening files by handle',
    names: ['open_by_handle_at'],
  },
  {
    // Docker allows ptrace to everyone on kernels >= 4.8 (where it can no longer bypass
    // seccomp); Berth keeps reading other processes' memory behind the capability.
    caps: ['CAP_SYS_PTRACE'],
    why: 'tracing and inspecting other processes',
    names: ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd', 'process_madvise'],
  },
  { caps: ['CAP_SYS_BOOT'], why: 'reboot (in a pid namespace: ends its init)', names: ['reboot'] },
  { caps: ['CAP_SYS_CHROOT'], why: 'chroot', names: ['chroot'] },
  { caps: ['CAP_SYS_MODULE'], why: 'kernel modules', names: ['init_module', 'finit_module', 'delete_module'] },
  { caps: ['CAP_SYS_PACCT'], why: 'process accounting', names: ['acct'] },
  { caps: ['CAP_SYS_RAWIO'], why: 'I/O port access', names: ['iopl', 'ioperm'] },
  { caps: ['CAP_SYS_TIME'], why: 'setting the clock', names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'] },
  { caps: ['CAP_SYS_TTY_CONFIG'], why: 'vhangup', names: ['vhangup'] },
  { caps: ['CAP_SYS_NICE'], why: 'NUMA memory policy', names: ['get_mempolicy', 'set_mempolicy', 'set_mempolicy_home_node', 'mbind'] },
];
