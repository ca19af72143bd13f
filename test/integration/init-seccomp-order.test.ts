/**
 * The seccomp filter is the container's, not the runtime's: whatever a valid profile leaves
 * out, the runtime's own setup (user switch, cwd, executable lookup, fds, start fifo) must not
 * need it. Profiles here are narrow allowlists: Docker's default minus `openat2` (as profiles
 * written before Linux 5.6 are) and a minimal list of what busybox needs, with
 * noNewPrivileges true and false (dockerd's default), for `create`/`start` and for `exec`.
 * These run against runc too (BERTH_TEST_RUNTIME=runc) except where marked berth-only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { berthOnly, session, skipReason, type RuntimeSession } from '../helpers/runtime';
import { OUT, readyThenSleep, sh, type Bundle } from '../helpers/bundle';
import { defaultSeccompProfile } from '../../src/seccomp';
import type { LinuxSeccomp, RuntimeConfig } from '../../src/spec/types';

const skip = skipReason() ?? (process.arch === 'x64' ? undefined : 'the minimal allowlist names x86_64 syscalls');

/** Docker's default profile (Berth's copy) without the syscalls named. */
function defaultWithout(caps: string[], removed: string[]): LinuxSeccomp {
  const profile = defaultSeccompProfile({ capabilities: caps });
  const gone = new Set(removed);
  for (const rule of profile.syscalls ?? []) rule.names = rule.names.filter((n) => !gone.has(n));
  profile.syscalls = (profile.syscalls ?? []).filter((r) => r.names.length > 0);
  return profile;
}

/**
 * What busybox's sh, echo, cat and sleep need (from strace), plus what the Go runtime of runc
 * needs after its filter, so the same profile can be compared with runc: no openat2, no
 * chdir/fchdir, no close_range, no capset/setuid/setgroups, no pidfd_open.
 */
const MINIMAL = [
  'arch_prctl', 'brk', 'clone', 'close', 'dup2', 'execve', 'exit', 'exit_group', 'fcntl', 'fstat', 'futex', 'getdents64',
  'getegid', 'geteuid', 'getgid', 'getpid', 'getppid', 'getrandom', 'gettid', 'getuid', 'ioctl', 'lseek', 'madvise',
  'mmap', 'mprotect', 'munmap', 'nanosleep', 'clock_nanosleep', 'newfstatat', 'open', 'openat', 'prctl', 'prlimit64',
  'read', 'readlink', 'rseq', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'sched_yield', 'sendfile',
  'set_robust_list', 'set_tid_address', 'sigaltstack', 'stat', 'tgkill', 'uname', 'wait4', 'write', 'epoll_pwait',
  'epoll_ctl', 'epoll_create1', 'pipe2', 'mlock', 'getpgrp', 'statx',
];

function minimal(): LinuxSeccomp {
  return { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: [...MINIMAL], action: 'SCMP_ACT_ALLOW' }] };
}

function withProfile(cfg: RuntimeConfig, profile: LinuxSeccomp, noNewPrivileges: boolean, uid = 0): void {
  cfg.linux!.seccomp = profile;
  cfg.process!.noNewPrivileges = noNewPrivileges;
  cfg.process!.user = { uid, gid: uid };
}

async function runScript(s: RuntimeSession, label: string, mutate: (cfg: RuntimeConfig) => void): Promise<Bundle> {
  const { id, bundle } = s.bundle(label, (cfg) => {
    mutate(cfg);
    cfg.process!.args = sh(`echo ran > ${OUT}/ran; grep -E '^(Seccomp|NoNewPrivs|CapEff|CapPrm):' /proc/self/status > ${OUT}/status`);
  });
  await s.runToCompletion(id, bundle);
  assert.equal(bundle.readOut('ran'), 'ran\n', 'the container process ran');
  assert.match(bundle.readOut('status') ?? '', /^Seccomp:\s+2$/m, 'under the filter');
  return bundle;
}

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
const EFF = ((1n << 5n) | (1n << 10n) | (1n << 29n)).toString(16).padStart(16, '0');

for (const nnp of [true, false]) {
  test(`seccomp order: Docker's default profile without openat2, noNewPrivileges ${nnp}`, { skip }, async (t) => {
    const s = session(t);
    const b = await runScript(s, `no-openat2-${nnp}`, (cfg) => withProfile(cfg, defaultWithout(CAPS, ['openat2']), nnp));
    // The process has exactly its configured capabilities (none of what loading needed).
    assert.match(b.readOut('status')!, new RegExp(`^CapEff:\\s+${EFF}$`, 'm'));
    assert.match(b.readOut('status')!, new RegExp(`^CapPrm:\\s+${EFF}$`, 'm'));
    assert.match(b.readOut('status')!, new RegExp(`^NoNewPrivs:\\s+${nnp ? 1 : 0}$`, 'm'));
  });
}

test('seccomp order: a minimal allowlist with noNewPrivileges (filter right before execve)', { skip: skip ?? berthOnly('runc 1.1 makes more syscalls after its filter than busybox needs') }, async (t) => {
  const s = session(t);
  await runScript(s, 'minimal-nnp', (cfg) => withProfile(cfg, minimal(), true));
});

test('seccomp order: a minimal allowlist without noNewPrivileges, as root and as uid 1000', { skip: skip ?? berthOnly('runc switches user and cwd under the filter without no_new_privs') }, async (t) => {
  const s = session(t);
  const root = await runScript(s, 'minimal-root', (cfg) => withProfile(cfg, minimal(), false));
  assert.match(root.readOut('status')!, new RegExp(`^CapEff:\\s+${EFF}$`, 'm'), 'CAP_SYS_ADMIN, needed to load the filter, is gone');
  const user = await runScript(s, 'minimal-user', (cfg) => {
    withProfile(cfg, minimal(), false, 1000);
    cfg.process!.cwd = '/tmp';
  });
  assert.match(user.readOut('status')!, /^CapEff:\s+0{16}$/m, 'uid 1000 without ambient capabilities has none');
  assert.match(user.readOut('status')!, /^CapPrm:\s+0{16}$/m);
});

test('seccomp order: exec joins a container whose profile lacks openat2 (noNewPrivileges false)', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('exec-no-openat2', (cfg) => {
    withProfile(cfg, defaultWithout(CAPS, ['openat2']), false);
    cfg.process!.args = readyThenSleep();
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  const r = s.rt(['exec', '--cwd', '/tmp', id, 'sh', '-c', 'pwd; grep ^Seccomp: /proc/self/status']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\/tmp$/m);
  assert.match(r.stdout, /^Seccomp:\s+2$/m);
});
