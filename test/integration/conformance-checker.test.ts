/**
 * Self-test of berth-checker on the host (no runtime needed): the conformance suite trusts its
 * reports, so its output must be valid JSON that agrees with what Node sees of the same process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { CHECKER_BUILD } from '../helpers/runtime';
import type { CheckerReport, OpenResult, StatResult, SyscallResult } from '../helpers/bundle';

const skip = existsSync(CHECKER_BUILD) ? undefined : `${CHECKER_BUILD} missing: run \`npm run install\``;

function checker<T>(...args: string[]): T {
  return JSON.parse(execFileSync(CHECKER_BUILD, args, { encoding: 'utf8' })) as T;
}

test('checker: report is one JSON object agreeing with the host view', { skip }, () => {
  const r = checker<CheckerReport>('report');
  assert.equal(r.uid, process.getuid!());
  assert.equal(r.hostname, hostname());
  assert.equal(r.namespaces.mnt, Number(/\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/mnt'))![1]));
  assert.ok(r.mounts.some((m) => m.mount_point === '/'), 'mounts include /');
  assert.ok(r.caps.bounding.names!.includes('CAP_SYS_ADMIN'));
  assert.ok(r.rlimits.RLIMIT_NOFILE!.hard > 0);
  assert.deepEqual(r.fds.slice(0, 3).map((f) => f.fd), [0, 1, 2]);
  assert.equal(typeof r.exe_access.write.ok, 'boolean');
  assert.ok(r.env.some((e) => e.startsWith('PATH=')));
});

test('checker: stat reports device numbers and errors', { skip }, () => {
  const [dev, missing] = checker<StatResult[]>('stat', '/dev/null', '/no/such/path');
  assert.deepEqual([dev!.type, dev!.major, dev!.minor], ['char', 1, 3]);
  assert.deepEqual([missing!.ok, missing!.errno], [false, 'ENOENT']);
});

test('checker: open-write and syscall probes report errno names', { skip }, () => {
  assert.equal(checker<OpenResult>('open-write', '/no/such/dir/file', '--create').errno, 'ENOENT');
  assert.equal(checker<SyscallResult>('syscall', 'getpid').errno, 'OK');
  const bad = spawnSync(CHECKER_BUILD, ['syscall', 'no-such-probe'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown syscall probe/);
});
