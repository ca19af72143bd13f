/**
 * Kernel ABI numbers for seccomp filters (include/uapi/linux/seccomp.h, linux/audit.h,
 * linux/filter.h) and the OCI names this compiler accepts. Nothing here depends on the host.
 */
import { SECCOMP_ACTIONS, SECCOMP_OPERATORS } from '../spec/schema';
import type { SeccompAction, SeccompOperator } from '../spec/types';

// ---- filter return values (SECCOMP_RET_*): action in the high 16 bits, data in the low 16 ----
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

/** The kernel clamps an ERRNO action's data to MAX_ERRNO; larger values are refused here. */
export const MAX_ERRNO = 4095;
export const EPERM = 1;
export const ENOSYS = 38;

// ---- seccomp(SECCOMP_SET_MODE_FILTER, flags, ...) ----
export const SECCOMP_FILTER_FLAG_TSYNC = 1 << 0;
export const SECCOMP_FILTER_FLAG_LOG = 1 << 1;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1 << 2;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;
export const SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 1 << 4;
export const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 1 << 5;

/** The flags a profile may name (linux.seccomp.flags); NEW_LISTENER and TSYNC_ESRCH are added by the compiler. */
export const PROFILE_FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
};

// ---- struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; } ----
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
export const SECCOMP_DATA_ARGS = 16;
export const SECCOMP_DATA_SIZE = 64;

/** x32 syscalls enter the x86_64 syscall path with this bit set in the number. */
export const X32_SYSCALL_BIT = 0x40000000;

/** The kernel refuses classic BPF programs longer than BPF_MAXINSNS. */
export const BPF_MAXINSNS = 4096;

/** Every action and operator of the runtime spec (spec/schema.ts): the compiler implements all of them. */
export const SUPPORTED_ACTIONS: readonly SeccompAction[] = SECCOMP_ACTIONS;
export const SUPPORTED_OPERATORS: readonly SeccompOperator[] = SECCOMP_OPERATORS;

export const SUPPORTED_FLAGS: readonly string[] = Object.keys(PROFILE_FLAGS);
