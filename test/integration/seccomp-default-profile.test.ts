/**
 * Berth's default seccomp profile on a real busybox container: programs run, what needs
 * CAP_SYS_ADMIN gets EPERM without it, unknown syscall numbers get ENOSYS. The profile is an
 * ordinary linux.seccomp, so these tests also run against runc (BERTH_TEST_RUNTIME=runc).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { session, skipReason, type RuntimeSession } from '../helpers/runtime';
import { OUT, sh, type Bundle, type CheckerReport, type SyscallResult } from '../helpers/bundle';
import { defaultSeccompProfile } from '../../src/seccomp';
import type { RuntimeConfig } from '../../src/spec/types';

const skip = skipReason({ checker: true }) ?? (process.arch === 'x64' ? undefined : 'the probes below use x86_64 syscall numbers');

/** Runs `script` with the default profile for the container's capabilities; returns the bundle. */
async function runWithDefaultProfile(s: RuntimeSession, label: string, script: string, extraCaps: string[] = []): Promise<Bundle> {
  const { id, bundle } = s.bundle(label, (cfg: RuntimeConfig) => {
    const caps = cfg.process!.capabilities!;
    for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), ...extraCaps];
    cfg.linux!.seccomp = defaultSeccompProfile({ capabilities: caps.bounding ?? [] });
    cfg.process!.args = sh(script);
  });
  await s.runToCompletion(id, bundle);
  return bundle;
}

const probe = (name: string) => `berth-checker syscall ${name} > ${OUT}/${name}.json`;

test('default seccomp profile: a shell works, privileged syscalls get EPERM, unknown numbers ENOSYS', { skip }, async (t) => {
  const s = session(t);
  const b = await runWithDefaultProfile(
    s,
    'default',
    [
      `echo hello > ${OUT}/echo.txt`,
      `mkdir /tmp/made && ls -d /tmp/made > ${OUT}/mkdir.txt`,
      `cat /proc/self/status | grep -E '^Seccomp:' > ${OUT}/status.txt`,
      'berth-checker report > /out/report.json',
      ...['mkdir', 'mount', 'unshare', 'ptrace', 'keyctl', 'clone3', 'getpid', 'personality', '1000', '470'].map(probe),
    ].join('; '),
  );
  assert.equal(b.readOut('echo.txt'), 'hello\n', 'sh and echo run');
  assert.equal(b.readOut('mkdir.txt'), '/tmp/made\n', 'mkdir works');
  assert.match(b.readOut('status.txt') ?? '', /^Seccomp:\s+2$/m);
  assert.equal(b.readJson<CheckerReport>('report.json').seccomp_mode, 2);
  const errno = (name: string) => b.readJson<SyscallResult>(`${name}.json`).errno;
  assert.equal(errno('mkdir'), 'OK');
  assert.equal(errno('getpid'), 'OK');
  assert.equal(errno('personality'), 'OK', 'personality(0xffffffff), the query, is one of the allowed values');
  assert.equal(errno('mount'), 'EPERM', 'mount without CAP_SYS_ADMIN');
  assert.equal(errno('unshare'), 'EPERM', 'unshare without CAP_SYS_ADMIN');
  assert.equal(errno('ptrace'), 'EPERM', 'ptrace without CAP_SYS_PTRACE');
  assert.equal(errno('keyctl'), 'EPERM');
  assert.equal(errno('clone3'), 'ENOSYS', 'clone3: libcs fall back to clone');
  assert.equal(errno('1000'), 'ENOSYS', 'a number past the syscall tables');
  // listns (470) is newer than every syscall the profile names: ENOSYS, as runc's stub says.
  assert.equal(errno('470'), 'ENOSYS', 'a syscall newer than the profile (listns)');
});

test('default seccomp profile: CAP_SYS_ADMIN unlocks mount and unshare', { skip }, async (t) => {
  const s = session(t);
  const b = await runWithDefaultProfile(s, 'sysadmin', ['mount', 'unshare', 'ptrace'].map(probe).join('; '), ['CAP_SYS_ADMIN']);
  assert.equal(b.readJson<SyscallResult>('mount.json').errno, 'OK');
  assert.equal(b.readJson<SyscallResult>('unshare.json').errno, 'OK');
  assert.equal(b.readJson<SyscallResult>('ptrace.json').errno, 'EPERM', 'still no ptrace');
});
