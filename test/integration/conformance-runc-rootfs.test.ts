/**
 * Conformance: rootfs and security cases from runc's integration tests (dev.bats, mounts.bats,
 * userns.bats, seccomp*.bats) that berth-runtime once failed where runc passes, against the
 * runtime named by BERTH_TEST_RUNTIME (run with BERTH_TEST_RUNTIME=runc to check them on runc).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { session, skipReason } from '../helpers/runtime';
import { OUT, sh } from '../helpers/bundle';

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
