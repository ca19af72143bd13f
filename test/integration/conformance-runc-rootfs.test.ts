/**
 * Conformance: rootfs and security cases from runc's integration tests (dev.bats, mounts.bats,
 * userns.bats, seccomp*.bats) that berth-runtime once failed where runc passes, against the
 * runtime named by BERTH_TEST_RUNTIME (run with BERTH_TEST_RUNTIME=runc to check them on runc).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { session, skipReason } from '../helpers/runtime';
import { OUT, sh, readyThenSleep, type SyscallResult } from '../helpers/bundle';
import { defaultSeccompProfile } from '../../src/seccomp';
import type { LinuxSeccomp } from '../../src/spec/types';
import { SYSCALL_TABLES } from '../../src/seccomp/syscall-tables.generated';

const skip = skipReason();

// runc's dev.bats "runc run [redundant default /dev/tty]"-style configs and the OCI
// runtime-tools "mounts" case with a read-only /dev: the devices are created first, then /dev
// becomes read-only; its submounts keep their own flags.
test('a read-only /dev mount: devices exist and work, /dev itself is read-only', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('ro-dev', (cfg) => {
    const dev = cfg.mounts!.find((m) => m.destination === '/dev')!;
    dev.options = [...(dev.options ?? []), 'ro'];
    cfg.process!.args = sh(
      [
        `exec > ${OUT}/result 2>&1`,
        'for d in null zero full random urandom tty; do test -c /dev/$d && echo "dev $d"; done',
        'echo x > /dev/null && echo null-writable',
        'head -c 4 /dev/zero | od -An -tx1 | tr -d " "',
        'touch /dev/new-file 2>/dev/null || echo dev-read-only',
        'touch /dev/shm/file && echo shm-writable',
        'grep " /dev " /proc/self/mounts | cut -d" " -f4 | cut -d, -f1',
      ].join('; '),
    );
  });
  await s.runToCompletion(id, bundle);
  const out = bundle.readOut('result') ?? '';
  for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) assert.match(out, new RegExp(`^dev ${d}$`, 'm'), out);
  assert.match(out, /^null-writable$/m);
  assert.match(out, /^00000000$/m);
  assert.match(out, /^dev-read-only$/m);
  assert.match(out, /^shm-writable$/m);
  assert.match(out, /^ro$/m, 'the /dev mount is read-only');
});

// runc's userns.bats "userns with inaccessible mount" (+ exec): the bind source sits below a
// directory only the host's root may traverse; the container's root is a mapped, unprivileged
// host uid, so the runtime must take the source before the container enters its namespace.
test('user namespace: a bind mount whose source the mapped root cannot reach (run and exec)', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('userns-inaccessible', (cfg, b) => {
    const hidden = join(b.dir, 'hidden');
    mkdirSync(join(hidden, 'data'), { recursive: true });
    writeFileSync(join(hidden, 'data', 'file'), 'from the host\n');
    chmodSync(join(hidden, 'data'), 0o755);
    chmodSync(hidden, 0o700);
    // The rootfs belongs to the host's root, not the mapped one: the mount point must exist.
    mkdirSync(join(b.rootfs, 'data'));
    cfg.linux!.namespaces!.push({ type: 'user' });
    cfg.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    cfg.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    cfg.mounts = cfg.mounts!.filter((m) => m.destination !== '/sys/fs/cgroup');
    cfg.mounts.push({ destination: '/data', type: 'bind', source: join(hidden, 'data'), options: ['rbind', 'ro'] });
    cfg.process!.args = readyThenSleep(`cat /data/file > ${OUT}/from-run; `);
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  assert.equal(bundle.readOut('from-run'), 'from the host\n');
  const r = s.rt(['exec', id, 'cat', '/data/file']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'from the host\n');
  const ro = s.rt(['exec', id, 'touch', '/data/new']);
  assert.notEqual(ro.code, 0, 'the mount keeps its ro flag');
});

// runc's seccomp.bats "runc run [seccomp] (SCMP_ACT_ERRNO default, no clone3)"-style case and
// runc's patchbpf stub: a profile written before clone3 existed (allowlist, EPERM by default)
// must answer ENOSYS for syscalls newer than any it names, so that libc falls back to clone.
test('seccomp: an allowlist older than clone3 answers ENOSYS for newer syscalls, the default for older ones', { skip: skipReason({ checker: true }) ?? (process.arch === 'x64' ? undefined : 'x86_64 syscall numbers') }, async (t) => {
  const s = session(t);
  const table = SYSCALL_TABLES.x86_64 as Record<string, number>;
  const { id, bundle } = s.bundle('seccomp-old-allowlist', (cfg) => {
    const profile = defaultSeccompProfile({ capabilities: cfg.process!.capabilities!.bounding ?? [] });
    // Keep only what pidfd_open (434) and older: the profile of a 5.3-era tool.
    profile.syscalls = (profile.syscalls ?? [])
      .map((r) => ({ ...r, names: r.names.filter((n) => (table[n] ?? Infinity) <= 434) }))
      .filter((r) => r.names.length > 0);
    cfg.linux!.seccomp = profile;
    cfg.process!.args = sh(
      ['clone3', '435', '437', 'mount', 'getpid'].map((p) => `berth-checker syscall ${p} > ${OUT}/${p}.json`).join('; ') +
        `; sh -c 'sleep 0 & wait' && echo forks > ${OUT}/fork.txt`,
    );
  });
  await s.runToCompletion(id, bundle);
  const errno = (name: string) => bundle.readJson<SyscallResult>(`${name}.json`).errno;
  assert.equal(errno('clone3'), 'ENOSYS', 'clone3 (435) is newer than the profile');
  assert.equal(errno('435'), 'ENOSYS');
  assert.equal(errno('437'), 'ENOSYS', 'openat2 too');
  assert.equal(errno('mount'), 'EPERM', 'an older syscall the profile denies keeps the default errno');
  assert.equal(errno('getpid'), 'OK');
  assert.equal(bundle.readOut('fork.txt'), 'forks\n');
});

const MKDIR_RULE: Pick<LinuxSeccomp, 'defaultAction' | 'architectures'> = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_X86_64'] };

// runc's seccomp.bats "runc run [seccomp] (startContainer hook)": the hook runs with the filter.
test('seccomp: a startContainer hook runs under the profile (its mkdir is killed, run fails)', { skip }, (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('seccomp-start-hook', (cfg) => {
    cfg.process!.args = sh(`echo main > ${OUT}/main`);
    cfg.linux!.seccomp = { ...MKDIR_RULE, syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL' }] };
    cfg.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'mkdir /dev/shm/foo'] }] };
  });
  s.track(id);
  const r = s.rt(['run', '--bundle', bundle.dir, id]);
  assert.notEqual(r.code, 0, 'the hook was killed, so run fails');
  assert.match(r.stderr, /startContainer|hook/);
  assert.match(r.stderr, /bad system call|signal 31|SIGSYS/i);
  assert.equal(bundle.readOut('main'), undefined, 'the process did not run');
});

// runc's seccomp-notify.bats: SCMP_ACT_NOTIFY needs an agent; write cannot be notified.
const notifyCases: Array<[string, LinuxSeccomp, RegExp]> = [
  ['no listenerPath', { ...MKDIR_RULE, syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' as const }] }, /listenerPath/],
  ['notify on write', { ...MKDIR_RULE, listenerPath: '/run/berth-none.sock', syscalls: [{ names: ['write'], action: 'SCMP_ACT_NOTIFY' as const }] }, /write/],
  ['no agent listening', { ...MKDIR_RULE, listenerPath: '/run/berth-conformance-no-agent.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' as const }] }, /no-agent\.sock.*(no such file|ENOENT)/i],
];
for (const [label, seccomp, why] of notifyCases) {
  test(`seccomp: SCMP_ACT_NOTIFY with ${label} is refused at create, leaving nothing`, { skip }, (t) => {
    const s = session(t);
    const { id, bundle } = s.bundle(`notify-${label.replace(/ /g, '-')}`, (cfg) => {
      cfg.linux!.seccomp = seccomp;
    });
    const r = s.createContainer(id, bundle.dir);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, why);
    assert.deepEqual(s.leftovers(id, undefined, bundle.rootfs), []);
  });
}
