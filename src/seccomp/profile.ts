/**
 * Checks an OCI seccomp profile and turns it into plain numbers: actions into SECCOMP_RET_*
 * values, flags into SECCOMP_FILTER_FLAG_* bits, argument values into exact 64-bit integers,
 * architecture names into ArchSpecs. Every error names the JSON path of the offending field.
 * The profile is usually validated by src/spec already; this module re-checks what the
 * compiler depends on because library callers may hand it profiles that never saw the schema.
 */
import { BerthError } from '../core/errors';
import type { LinuxSeccomp, SeccompAction, SeccompOperator } from '../spec/types';
import { archSpec, isKnownSyscallName, nativeArchName, type ArchSpec } from './arches';
import {
  EPERM,
  MAX_ERRNO,
  PROFILE_FLAGS,
  SECCOMP_FILTER_FLAG_NEW_LISTENER,
  SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
  SUPPORTED_ACTIONS,
  SUPPORTED_OPERATORS,
} from './constants';

export interface CompileOptions {
  /** Architecture the filter will run on (default: this process's); it is always covered. */
  nativeArch?: string;
  /** JSON path of the profile, used in error messages (default "linux.seccomp"). */
  path?: string;
  /** Receives a message for each syscall name no supported architecture knows (it is skipped). */
  warn?: (message: string) => void;
}

export interface ArgCondition {
  index: number;
  op: SeccompOperator;
  value: bigint;
  /** MASKED_EQ's datum (value is the mask); 0 when absent, as runc and Docker's profile assume. */
  valueTwo: bigint;
}

export interface ProfileRule {
  names: string[];
  ret: number;
  conditions: ArgCondition[];
  path: string;
}

export interface NormalizedProfile {
  defaultRet: number;
  native: ArchSpec;
  /** Native first, no duplicates. */
  arches: ArchSpec[];
  flags: number;
  rules: ProfileRule[];
  /** A syscall number the tables do not know gets ENOSYS instead of the default action. */
  enosysForUnknown: boolean;
  usesNotify: boolean;
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * Syscalls berth-init makes between loading a filter with a listener and handing the listener
 * to the runtime. If one of them were sent to the (not yet connected) listener, the container
 * process would wait forever for an agent that can only receive the listener afterwards.
 */
const NOTIFY_FORBIDDEN = new Set(['sendmsg', 'sendto', 'write']);

function invalid(path: string, message: string, hint?: string): BerthError {
  return new BerthError('EINVALID_CONFIG', `${path}: ${message}`, hint ? { hint } : {});
}

/** The SECCOMP_RET_* value of an action; errno/trace data from `errnoRet` (default EPERM). */
function actionValue(action: unknown, errnoRet: unknown, path: string, actionField: string, errnoField: string): number {
  if (typeof action !== 'string' || !(SUPPORTED_ACTIONS as readonly string[]).includes(action)) {
    throw invalid(`${path}.${actionField}`, `unknown action ${JSON.stringify(action)}`, `one of ${SUPPORTED_ACTIONS.join(', ')}`);
  }
  const a = action as SeccompAction;
  if (errnoRet !== undefined && a !== 'SCMP_ACT_ERRNO' && a !== 'SCMP_ACT_TRACE') {
    // runtime-spec: "When the action doesn't support an errno, the runtime MUST print an error and fail."
    throw invalid(`${path}.${errnoField}`, `only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take a return value, not ${a}`);
  }
  const data = errnoRet === undefined ? EPERM : errnoRet;
  const limit = a === 'SCMP_ACT_ERRNO' ? MAX_ERRNO : SECCOMP_RET_DATA;
  if (typeof data !== 'number' || !Number.isInteger(data) || data < 0 || data > limit) {
    throw invalid(`${path}.${errnoField}`, `must be an integer from 0 to ${limit}, not ${JSON.stringify(data)}`);
  }
  switch (a) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET_KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET_TRAP;
    case 'SCMP_ACT_ERRNO':
      return (SECCOMP_RET_ERRNO | data) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET_TRACE | data) >>> 0;
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET_ALLOW;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET_LOG;
    case 'SCMP_ACT_NOTIFY':
      return SECCOMP_RET_USER_NOTIF;
  }
}

/**
 * An argument value as an exact u64. JSON numbers above 2^53 arrive rounded; the largest,
 * 18446744073709551615, parses to exactly 2^64 and is taken as 2^64-1, which is what it
 * was written as. Library callers can pass bigints to be exact.
 */
function toU64(v: unknown, path: string): bigint {
  let b: bigint | undefined;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isInteger(v)) b = v === 2 ** 64 ? U64_MAX : BigInt(v);
  if (b === undefined || b < 0n || b > U64_MAX) {
    throw invalid(path, `must be an integer from 0 to 18446744073709551615, not ${String(v)}`);
  }
  return b;
}

function normalizeArches(profile: LinuxSeccomp, path: string, nativeName: string): ArchSpec[] {
  const native = archSpec(nativeName);
  if (!native) throw invalid(path, `no syscall table for the native architecture ${nativeName}`);
  const out: ArchSpec[] = [native];
  (profile.architectures ?? []).forEach((name, i) => {
    if (typeof name !== 'string' || !name.startsWith('SCMP_ARCH_')) {
      throw invalid(`${path}.architectures[${i}]`, `unknown architecture ${JSON.stringify(name)}`);
    }
    const spec = archSpec(name);
    // An architecture without a table here (MIPS, PARISC...) cannot run on this host's kernel
    // through any ABI we support; leaving it out means its syscalls get the bad-arch kill.
    if (spec && !out.includes(spec)) out.push(spec);
  });
  return out;
}

function normalizeFlags(profile: LinuxSeccomp, path: string, usesNotify: boolean): number {
  let flags = 0;
  (profile.flags ?? []).forEach((name, i) => {
    const bit = typeof name === 'string' && Object.prototype.hasOwnProperty.call(PROFILE_FLAGS, name) ? PROFILE_FLAGS[name] : undefined;
    if (bit === undefined) {
      throw invalid(`${path}.flags[${i}]`, `unknown flag ${JSON.stringify(name)}`, `one of ${Object.keys(PROFILE_FLAGS).join(', ')}`);
    }
    flags |= bit;
  });
  if (usesNotify) {
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // The kernel refuses TSYNC with NEW_LISTENER unless a TSYNC failure is reported as ESRCH
    // (the return value cannot be both a listener fd and a thread id).
    if (flags & SECCOMP_FILTER_FLAG_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  } else if (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) {
    const i = (profile.flags ?? []).indexOf('SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV');
    throw invalid(`${path}.flags[${i}]`, 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV applies to SCMP_ACT_NOTIFY, which no rule uses');
  }
  return flags >>> 0;
}

function normalizeRule(raw: unknown, path: string, warn: CompileOptions['warn']): ProfileRule {
  if (!raw || typeof raw !== 'object') throw invalid(path, 'must be an object');
  const r = raw as Record<string, unknown>;
  if (!Array.isArray(r.names) || r.names.length === 0) throw invalid(`${path}.names`, 'must list at least one syscall name');
  const names = r.names.map((n, j) => {
    if (typeof n !== 'string' || n === '') throw invalid(`${path}.names[${j}]`, 'must be a non-empty string');
    if (!isKnownSyscallName(n)) warn?.(`${path}.names[${j}]: unknown syscall "${n}" (in no architecture's table): skipped`);
    return n;
  });
  const ret = actionValue(r.action, r.errnoRet, path, 'action', 'errnoRet');
  if (r.args !== undefined && !Array.isArray(r.args)) throw invalid(`${path}.args`, 'must be an array');
  const conditions = ((r.args as unknown[] | undefined) ?? []).map((a, k): ArgCondition => {
    const ap = `${path}.args[${k}]`;
    if (!a || typeof a !== 'object') throw invalid(ap, 'must be an object');
    const arg = a as Record<string, unknown>;
    if (typeof arg.index !== 'number' || !Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5) {
      throw invalid(`${ap}.index`, `must be an argument index from 0 to 5, not ${JSON.stringify(arg.index)}`);
    }
    if (typeof arg.op !== 'string' || !(SUPPORTED_OPERATORS as readonly string[]).includes(arg.op)) {
      throw invalid(`${ap}.op`, `unknown operator ${JSON.stringify(arg.op)}`, `one of ${SUPPORTED_OPERATORS.join(', ')}`);
    }
    return {
      index: arg.index,
      op: arg.op as SeccompOperator,
      value: toU64(arg.value, `${ap}.value`),
      valueTwo: arg.valueTwo === undefined ? 0n : toU64(arg.valueTwo, `${ap}.valueTwo`),
    };
  });
  return { names, ret, conditions, path };
}

export function normalizeProfile(profile: LinuxSeccomp, opts: CompileOptions = {}): NormalizedProfile {
  const path = opts.path ?? 'linux.seccomp';
  if (!profile || typeof profile !== 'object') throw invalid(path, 'must be an object');
  const defaultRet = actionValue(profile.defaultAction, profile.defaultErrnoRet, path, 'defaultAction', 'defaultErrnoRet');
  if (profile.defaultAction === 'SCMP_ACT_NOTIFY') {
    throw invalid(`${path}.defaultAction`, 'SCMP_ACT_NOTIFY cannot be the default action', 'berth-init needs a few syscalls to hand the listener over; notify on specific syscalls instead');
  }
  if (profile.syscalls !== undefined && !Array.isArray(profile.syscalls)) throw invalid(`${path}.syscalls`, 'must be an array');
  const rules = (profile.syscalls ?? []).map((s, i) => normalizeRule(s, `${path}.syscalls[${i}]`, opts.warn));
  const usesNotify = rules.some((r) => r.ret === SECCOMP_RET_USER_NOTIF);
  for (const r of rules) {
    if (r.ret !== SECCOMP_RET_USER_NOTIF) continue;
    const j = r.names.findIndex((n) => NOTIFY_FORBIDDEN.has(n));
    if (j >= 0) {
      throw invalid(`${r.path}.names[${j}]`, `SCMP_ACT_NOTIFY cannot be used for ${r.names[j]}`, 'berth-init uses it to hand the listener to the runtime, which would deadlock');
    }
  }
  if (usesNotify && !profile.listenerPath) {
    throw invalid(`${path}.listenerPath`, 'is required when a rule uses SCMP_ACT_NOTIFY', 'the path of the seccomp agent\'s unix socket');
  }
  if (profile.listenerMetadata !== undefined && !profile.listenerPath) {
    throw invalid(`${path}.listenerMetadata`, 'must not be set without listenerPath');
  }
  const arches = normalizeArches(profile, path, opts.nativeArch ?? nativeArchName());
  const flags = normalizeFlags(profile, path, usesNotify);
  const defaultAction = profile.defaultAction;
  return {
    defaultRet,
    native: arches[0]!,
    arches,
    flags,
    rules,
    // ALLOW and LOG defaults let unknown syscalls through to the kernel, which answers ENOSYS
    // itself; TRACE leaves the answer to the tracer (the kernel says ENOSYS without one).
    enosysForUnknown: defaultAction !== 'SCMP_ACT_ALLOW' && defaultAction !== 'SCMP_ACT_LOG' && defaultAction !== 'SCMP_ACT_TRACE',
    usesNotify,
  };
}
