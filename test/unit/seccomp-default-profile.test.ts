/**
 * Berth's default seccomp profile: what it allows and denies (compiled and run through the
 * BPF interpreter), per capability and architecture, and a cross-check against Docker's
 * default profile from ../shared/reference (skipped where that directory is absent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { compileSeccomp, defaultSeccompProfile, SUPPORTED_ARCHES, archSpec, syscallNumber } from '../../src/seccomp';
import { DEFAULT_CAPABILITIES } from '../../src/spec/capabilities';
import type { LinuxSeccomp, SeccompSyscall } from '../../src/spec/types';
import { checkFilter, describeRet, runFilter } from '../helpers/bpf-interpreter';

const X86_64 = archSpec('SCMP_ARCH_X86_64')!;
const X86 = archSpec('SCMP_ARCH_X86')!;
const X32 = archSpec('SCMP_ARCH_X32')!;

/** Docker's default capability set (what `docker run` grants without --cap-add). */
const DOCKER_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

const CLONE_THREAD_FLAGS = 0x3d0f00; // what glibc's pthread_create passes
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWNS = 0x20000;

function compiled(profile: LinuxSeccomp, nativeArch = 'SCMP_ARCH_X86_64'): Buffer {
  const p = compileSeccomp(profile, { nativeArch });
  checkFilter(p.filter, archSpec(nativeArch)!.bigEndian);
  assert.equal(p.flags, 0);
  return p.filter;
}

function outcome(filter: Buffer, name: string, args: Array<number | bigint> = [], arch = X86_64): string {
  const nr = syscallNumber(arch, name);
  assert.ok(nr !== undefined, `${arch.name} has ${name}`);
  return describeRet(runFilter(filter, { nr, arch: arch.audit, args }, arch.bigEndian));
}

const ESSENTIALS = [
  'read', 'write', 'openat', 'close', 'fstat', 'newfstatat', 'lseek', 'mmap', 'mprotect', 'munmap', 'brk', 'rt_sigaction',
  'rt_sigprocmask', 'rt_sigreturn', 'ioctl', 'execve', 'exit', 'exit_group', 'wait4', 'kill', 'futex', 'getpid', 'getuid',
  'setuid', 'setgid', 'chown', 'mkdir', 'mkdirat', 'unlink', 'rename', 'pipe2', 'dup3', 'fcntl', 'getdents64', 'chdir',
  'getcwd', 'uname', 'arch_prctl', 'set_tid_address', 'set_robust_list', 'rseq', 'prlimit64', 'getrandom', 'epoll_wait',
  'poll', 'nanosleep', 'clock_gettime', 'connect', 'bind', 'sendto', 'recvfrom', 'socketpair', 'fork', 'vfork', 'statx',
];

test('default profile: EPERM by default, covers the sub-architectures, allows the essentials', () => {
  const profile = defaultSeccompProfile({ capabilities: DEFAULT_CAPABILITIES, arch: 'SCMP_ARCH_X86_64' });
  assert.equal(profile.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(profile.defaultErrnoRet, 1);
  assert.deepEqual(profile.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.deepEqual(defaultSeccompProfile({ capabilities: [], arch: 'SCMP_ARCH_AARCH64' }).architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  const f = compiled(profile);
  for (const name of ESSENTIALS) assert.equal(outcome(f, name), 'ALLOW', name);
  assert.equal(outcome(f, 'clone', [CLONE_THREAD_FLAGS]), 'ALLOW', 'threads');
  assert.equal(outcome(f, 'clone', [17 /* SIGCHLD: fork */]), 'ALLOW', 'fork through clone');
  assert.equal(outcome(f, 'socket', [2]), 'ALLOW', 'AF_INET');
  assert.equal(outcome(f, 'socket', [1]), 'ALLOW', 'AF_UNIX');
  assert.equal(outcome(f, 'socket', [16]), 'ALLOW', 'AF_NETLINK');
  // 32-bit programs: their own numbers, including the socketcall multiplexer
  for (const name of ['read', 'write', 'execve', 'exit_group', 'mmap2', 'fstat64', 'socketcall', 'set_thread_area']) {
    assert.equal(outcome(f, name, [], X86), 'ALLOW', `i386 ${name}`);
  }
  assert.equal(outcome(f, 'read', [], X32), 'ALLOW', 'x32 read');
  assert.equal(outcome(f, 'rt_sigaction', [], X32), 'ALLOW', 'x32 rt_sigaction (512)');
});

test('default profile: dangerous syscalls are EPERM without the matching capability', () => {
  const f = compiled(defaultSeccompProfile({ capabilities: DEFAULT_CAPABILITIES, arch: 'SCMP_ARCH_X86_64' }));
  const denied = [
    'mount', 'umount2', 'unshare', 'setns', 'pivot_root', 'sethostname', 'kexec_load', 'init_module', 'finit_module',
    'bpf', 'perf_event_open', 'ptrace', 'process_vm_readv', 'keyctl', 'add_key', 'request_key', 'userfaultfd',
    'io_uring_setup', 'open_by_handle_at', 'reboot', 'swapon', 'acct', 'settimeofday', 'clock_settime', 'iopl',
    'modify_ldt', 'fsopen', 'move_mount', 'open_tree', 'syslog', 'lookup_dcookie', 'vhangup', 'quotactl', 'mbind',
    'kcmp', 'pidfd_getfd', 'epoll_ctl_old',
  ];
  for (const name of denied) assert.equal(outcome(f, name), 'ERRNO(1)', name);
  // Newer than every syscall the profile names: ENOSYS, as runc's stub answers (still denied).
  for (const name of ['open_tree_attr', 'file_getattr', 'listns']) assert.equal(outcome(f, name), 'ERRNO(38)', name);
  assert.equal(outcome(f, 'chroot'), 'ALLOW', 'CAP_SYS_CHROOT is in the default set');
  // namespaces through clone: denied, threads allowed
  assert.equal(outcome(f, 'clone', [CLONE_NEWUSER | 17]), 'ERRNO(1)');
  assert.equal(outcome(f, 'clone', [CLONE_NEWNS]), 'ERRNO(1)');
  assert.equal(outcome(f, 'clone', [0x1_0000_0000n | BigInt(CLONE_NEWUSER)]), 'ERRNO(1)', 'high bits do not hide the flag');
  assert.equal(outcome(f, 'clone3'), 'ERRNO(38)', 'clone3: ENOSYS so libcs fall back to clone');
  assert.equal(outcome(f, 'clone', [CLONE_NEWUSER], X86), 'ERRNO(1)', 'i386 clone too');
  assert.equal(outcome(f, 'unshare', [], X32), 'ERRNO(1)', 'x32 unshare too');
  // socket families
  assert.equal(outcome(f, 'socket', [40]), 'ERRNO(1)', 'AF_VSOCK');
  assert.equal(outcome(f, 'socket', [38]), 'ERRNO(1)', 'AF_ALG');
  assert.equal(outcome(f, 'socket', [0x1_0000_0028n]), 'ERRNO(1)', 'AF_VSOCK with high bits set (the kernel truncates to int)');
  assert.equal(outcome(f, 'socket', [39]), 'ALLOW', 'AF_NFC');
  assert.equal(outcome(f, 'socket', [45]), 'ALLOW', 'AF_MCTP');
  assert.equal(outcome(f, 'socket', [46]), 'ERRNO(1)', 'past AF_MAX');
  // personality: the harmless values only
  for (const v of [0, 8, 0x20000, 0x20008, 0xffffffff]) assert.equal(outcome(f, 'personality', [v]), 'ALLOW', `personality 0x${v.toString(16)}`);
  for (const v of [0x400000 /* READ_IMPLIES_EXEC */, 0x40000 /* ADDR_NO_RANDOMIZE */, 0x1_0000_0000n]) {
    assert.equal(outcome(f, 'personality', [v]), 'ERRNO(1)', `personality 0x${v.toString(16)}`);
  }
  // numbers past the tables: ENOSYS for a libc's fallback
  assert.equal(describeRet(runFilter(f, { nr: 1000, arch: X86_64.audit })), 'ERRNO(38)');
  assert.equal(describeRet(runFilter(f, { nr: 1000, arch: X86.audit })), 'ERRNO(38)');
  assert.equal(describeRet(runFilter(f, { nr: 0, arch: 0xc00000b7 })), 'KILL_PROCESS', 'aarch64 process on an x86_64 filter');
});

test('default profile: capabilities unlock their syscalls', () => {
  const withCaps = (caps: string[]) => compiled(defaultSeccompProfile({ capabilities: [...DEFAULT_CAPABILITIES, ...caps], arch: 'SCMP_ARCH_X86_64' }));
  const admin = withCaps(['CAP_SYS_ADMIN']);
  for (const name of ['mount', 'umount2', 'unshare', 'setns', 'sethostname', 'bpf', 'perf_event_open', 'fsopen', 'syslog']) {
    assert.equal(outcome(admin, name), 'ALLOW', `${name} with CAP_SYS_ADMIN`);
  }
  assert.equal(outcome(admin, 'clone', [CLONE_NEWUSER]), 'ALLOW');
  assert.equal(outcome(admin, 'clone3'), 'ALLOW');
  assert.equal(outcome(admin, 'ptrace'), 'ERRNO(1)', 'CAP_SYS_ADMIN does not unlock ptrace');
  const cases: Array<[string, string[]]> = [
    ['CAP_SYS_PTRACE', ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd']],
    ['CAP_SYS_MODULE', ['init_module', 'finit_module', 'delete_module']],
    ['CAP_SYS_TIME', ['settimeofday', 'clock_settime']],
    ['CAP_SYS_BOOT', ['reboot']],
    ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
    ['CAP_SYS_PACCT', ['acct']],
    ['CAP_SYS_NICE', ['mbind', 'set_mempolicy']],
    ['CAP_DAC_READ_SEARCH', ['open_by_handle_at']],
    ['CAP_BPF', ['bpf']],
    ['CAP_PERFMON', ['perf_event_open']],
    ['SYSLOG', ['syslog']], // names without CAP_ are accepted too
  ];
  for (const [cap, names] of cases) {
    const f = withCaps([cap]);
    for (const name of names) assert.equal(outcome(f, name), 'ALLOW', `${name} with ${cap}`);
    assert.equal(outcome(f, 'mount'), 'ERRNO(1)', `mount still denied with only ${cap}`);
  }
  const noChroot = compiled(defaultSeccompProfile({ capabilities: ['CAP_CHOWN'], arch: 'SCMP_ARCH_X86_64' }));
  assert.equal(outcome(noChroot, 'chroot'), 'ERRNO(1)', 'chroot needs CAP_SYS_CHROOT');
});

test('default profile: compiles for every supported architecture and allows the basics there', () => {
  for (const arch of SUPPORTED_ARCHES) {
    const spec = archSpec(arch)!;
    const f = compiled(defaultSeccompProfile({ capabilities: DEFAULT_CAPABILITIES, arch }), arch);
    for (const name of ['read', 'write', 'exit_group', 'execve', 'futex', 'openat']) assert.equal(outcome(f, name, [], spec), 'ALLOW', `${arch} ${name}`);
    assert.equal(outcome(f, 'mount', [], spec), 'ERRNO(1)', `${arch} mount`);
    const flagsIndex = arch === 'SCMP_ARCH_S390X' ? 1 : 0;
    const args = [0, 0];
    args[flagsIndex] = CLONE_NEWUSER;
    assert.equal(outcome(f, 'clone', args, spec), 'ERRNO(1)', `${arch} clone(CLONE_NEWUSER)`);
    args[flagsIndex] = CLONE_THREAD_FLAGS;
    assert.equal(outcome(f, 'clone', args, spec), 'ALLOW', `${arch} clone(threads)`);
  }
  const arm64 = compiled(defaultSeccompProfile({ capabilities: [], arch: 'SCMP_ARCH_AARCH64' }), 'SCMP_ARCH_AARCH64');
  assert.equal(outcome(arm64, 'cacheflush', [], archSpec('SCMP_ARCH_ARM')!), 'ALLOW', 'arm compat processes on arm64');
});

// ---- cross-check with Docker's default profile -------------------------------------------------

/** ../shared/reference next to the repository (or a parent of it: worktrees live deeper). */
function findReference(): string | undefined {
  let dir = resolve(__dirname, '..', '..', '..');
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, '..', 'shared', 'reference', 'docker', 'seccomp-default.json');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

interface DockerRule extends SeccompSyscall {
  includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
  excludes?: { caps?: string[]; arches?: string[] };
}

function kernelAtLeast(min: string): boolean {
  const [a, b] = release().split('.').map((x) => parseInt(x, 10));
  const [c, d] = min.split('.').map((x) => parseInt(x, 10));
  return a! > c! || (a === c && b! >= d!);
}

/** Docker's profile as dockerd resolves it for an amd64 host and a capability set. */
function dockerProfile(file: string, caps: string[]): LinuxSeccomp {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { defaultAction: LinuxSeccomp['defaultAction']; defaultErrnoRet?: number; syscalls: DockerRule[] };
  const arch = 'amd64';
  const applies = (r: DockerRule): boolean => {
    if (r.includes?.caps && !r.includes.caps.every((c) => caps.includes(c))) return false;
    if (r.includes?.arches && !r.includes.arches.includes(arch)) return false;
    if (r.includes?.minKernel && !kernelAtLeast(r.includes.minKernel)) return false;
    if (r.excludes?.caps && r.excludes.caps.some((c) => caps.includes(c))) return false;
    if (r.excludes?.arches && r.excludes.arches.includes(arch)) return false;
    return true;
  };
  return {
    defaultAction: raw.defaultAction,
    ...(raw.defaultErrnoRet !== undefined ? { defaultErrnoRet: raw.defaultErrnoRet } : {}),
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: raw.syscalls.filter(applies).map((r) => ({
      names: r.names,
      action: r.action,
      ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}),
      ...(r.args ? { args: r.args } : {}),
    })),
  };
}

const referenceFile = findReference();
const noReference = referenceFile ? undefined : 'Docker\'s default profile not found in ../shared/reference (a user\'s clone has no ../shared)';

const allowedNames = (p: LinuxSeccomp): Set<string> =>
  new Set((p.syscalls ?? []).filter((s) => s.action === 'SCMP_ACT_ALLOW').flatMap((s) => s.names));

test('default profile vs Docker\'s: nothing allowed by name that Docker does not allow (x86_64, Docker\'s capabilities)', { skip: noReference }, () => {
  for (const caps of [DOCKER_CAPS, [...DOCKER_CAPS, 'CAP_SYS_ADMIN'], [...DOCKER_CAPS, 'CAP_SYS_PTRACE']]) {
    const ours = allowedNames(defaultSeccompProfile({ capabilities: caps, arch: 'SCMP_ARCH_X86_64' }));
    const docker = allowedNames(dockerProfile(referenceFile!, caps));
    const extra = [...ours].filter((n) => !docker.has(n));
    assert.deepEqual(extra, [], `allowed by Berth but not by Docker with ${caps.join(',')}`);
    for (const name of ESSENTIALS.filter((n) => n !== 'arch_prctl')) assert.ok(docker.has(name), `Docker allows ${name}`);
  }
});

test('default profile vs Docker\'s: every (syscall, arguments) Berth allows, Docker allows too', { skip: noReference }, () => {
  const argVectors: Array<Array<number | bigint>> = [
    [], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1], [CLONE_THREAD_FLAGS], [CLONE_NEWUSER], [CLONE_NEWNS | 17], [0x7e020000],
    [38], [39], [40], [41], [45], [0x1_0000_0028n], [8], [0x20008], [0xffffffff], [0x400000], [(1n << 64n) - 1n],
  ];
  for (const caps of [DOCKER_CAPS, [...DOCKER_CAPS, 'CAP_SYS_ADMIN']]) {
    const ours = compiled(defaultSeccompProfile({ capabilities: caps, arch: 'SCMP_ARCH_X86_64' }));
    const docker = compiled(dockerProfile(referenceFile!, caps));
    for (const arch of [X86_64, X86, X32]) {
      for (let n = 0; n < 600; n++) {
        const nr = (n + arch.nrOffset) >>> 0;
        for (const args of argVectors) {
          const mine = describeRet(runFilter(ours, { nr, arch: arch.audit, args }));
          if (mine !== 'ALLOW') continue;
          const theirs = describeRet(runFilter(docker, { nr, arch: arch.audit, args }));
          assert.equal(theirs, 'ALLOW', `${arch.name} nr ${n} args ${args.map(String).join(',')}: Berth allows, Docker says ${theirs}`);
        }
      }
    }
  }
});
