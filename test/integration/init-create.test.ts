/**
 * berth-init end to end on the real kernel: create (foreground) + start through startInit,
 * observed from inside the container with busybox.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseConfig, createStartWait, procStatus, sandbox, skipReason } from './init-helpers';
import { DEFAULT_CAPABILITIES, CAPABILITY_NUMBERS } from '../../src/spec/capabilities';

const skip = skipReason();

function capHex(names: string[]): string {
  let m = 0n;
  for (const n of names) m |= 1n << BigInt(CAPABILITY_NUMBERS[n]!);
  return m.toString(16).padStart(16, '0');
}

test('init: create + start with pid/mount/uts/ipc/net namespaces, mounts, caps, limits', { skip }, async (t) => {
  const sb = sandbox('basic');
  t.after(() => sb.cleanup());
  const cfg = baseConfig(
    sb.rootfs,
    [
      'echo pid=$$',
      'echo host=$(hostname)',
      'cat /proc/self/status',
      'echo nofile=$(ulimit -n)',
      'ls -l /dev/null',
      'echo mounts:',
      'cat /proc/self/mountinfo',
      'echo fds=$(ls /proc/self/fd | tr "\\n" " ")',
      'echo keys=$(wc -c < /proc/keys)',
      'echo procsys=$( (echo x > /proc/sys/kernel/domainname) 2>/dev/null && echo writable || echo ro)',
      'echo end',
    ].join('; '),
  );
  cfg.process!.rlimits = [{ type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1048576 }];
  const warnings: string[] = [];
  const r = await createStartWait(sb, cfg, {}, warnings);
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /^pid=1$/m, 'the process is pid 1 of a new pid namespace');
  assert.match(r.stdout, /^host=init-test$/m);
  const st = procStatus(r.stdout);
  const want = capHex(DEFAULT_CAPABILITIES);
  assert.equal(st.CapBnd, want);
  assert.equal(st.CapEff, want);
  assert.equal(st.CapPrm, want);
  assert.equal(st.CapInh, '0000000000000000', 'inheritable stays empty unless asked');
  assert.equal(st.CapAmb, '0000000000000000', 'ambient stays empty unless asked');
  assert.equal(st.NoNewPrivs, '1');
  assert.match(r.stdout, /^nofile=20000$/m, 'the NOFILE limit was clamped to the host hard limit');
  assert.ok(warnings.some((w) => /RLIMIT_NOFILE hard limit 1048576 clamped to 20000/.test(w)), warnings.join('\n'));
  assert.match(r.stdout, /^crw-rw-rw-\s+1 \S+\s+\S+\s+1,\s+3 .*\/dev\/null$/m);
  assert.match(r.stdout, / \/proc rw,.* - proc /);
  assert.match(r.stdout, / \/dev\/pts .* - devpts devpts .*ptmxmode=666/);
  assert.match(r.stdout, / \/sys ro,.* - sysfs /);
  assert.match(r.stdout, /^fds=0 1 2 3$/m, 'only stdio (and ls reading the dir) are open');
  assert.match(r.stdout, /^keys=0$/m, '/proc/keys is masked');
  assert.match(r.stdout, / \/sys\/firmware ro,.* - tmpfs /, 'a masked directory is a read-only tmpfs');
  assert.match(r.stdout, /^procsys=ro$/m, '/proc/sys is read-only');
  assert.match(r.stdout, /^end$/m);
});

test('init: readonly root, masked path is char 1:3, symlinked destination stays inside', { skip }, async (t) => {
  const sb = sandbox('ro');
  t.after(() => sb.cleanup());
  const { mkdirSync, symlinkSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  // the image's /escape points at a host directory; the bind mount must land inside the rootfs
  const hostDir = join(sb.dir, 'host-target');
  mkdirSync(hostDir);
  symlinkSync(`../../../../../../..${hostDir}`, join(sb.rootfs, 'escape'));
  const src = join(sb.dir, 'payload');
  mkdirSync(src);
  writeFileSync(join(src, 'file'), 'payload\n');
  writeFileSync(join(sb.rootfs, 'etc', 'secret'), 'secret\n');
  const cfg = baseConfig(
    sb.rootfs,
    'echo ro=$(touch /x 2>/dev/null && echo rw || echo ro); ls -l /etc/secret; echo secret=$(cat /etc/secret); cat /escape/file',
  );
  cfg.root!.readonly = true;
  cfg.mounts!.push({ destination: '/escape', type: 'bind', source: src, options: ['rbind', 'ro'] });
  cfg.linux!.maskedPaths!.push('/etc/secret');
  const r = await createStartWait(sb, cfg);
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /^ro=ro$/m);
  assert.match(r.stdout, /^crw-rw-rw-\s+1 \S+\s+\S+\s+1,\s+3 .*\/etc\/secret$/m, 'a masked file is the null device');
  assert.match(r.stdout, /^secret=$/m);
  assert.match(r.stdout, /^payload$/m, 'the bind mount is visible at the symlink target inside the rootfs');
  const { readdirSync, statSync } = await import('node:fs');
  assert.ok(statSync(join(sb.rootfs, hostDir)).isDirectory(), 'the mountpoint was created inside the rootfs');
  assert.deepEqual(readdirSync(hostDir), [], 'nothing was mounted or created on the host directory');
});
