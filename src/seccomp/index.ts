/**
 * Seccomp for Berth: an OCI seccomp profile compiler to classic BPF, syscall tables per
 * architecture, and the engine's default profile.
 */
export { compileSeccomp, BAD_ARCH_RET, type SeccompProgram } from './compile';
export type { CompileOptions } from './profile';
export { defaultSeccompProfile, type DefaultProfileOptions } from './default-profile';
export { nativeArchName, syscallNumber, archSpec, SUPPORTED_ARCHES, SUB_ARCHES, type ArchSpec } from './arches';
export {
  SUPPORTED_ACTIONS,
  SUPPORTED_OPERATORS,
  SUPPORTED_FLAGS,
  SECCOMP_FILTER_FLAG_NEW_LISTENER,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
} from './constants';
