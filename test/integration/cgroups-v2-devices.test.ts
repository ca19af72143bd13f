/**
 * cgroup v2 device rules (an eBPF program attached with bpf(2)) against the real kernel. This host
 * is hybrid, but its cgroup2 mount at /sys/fs/cgroup/unified accepts device programs like any
 * cgroup2 directory, so the manager is pointed at it as if it were a v2 host. Needs root and a
 * berth_sys.node built with native/sys/bpf.c.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupManager, detectLayout } from '../../src/cgroups';
import { sys } from '../../src/sys';

const UNIFIED = '/sys/fs/cgroup/unified';

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root';
  if (detectLayout(UNIFIED) !== 'v2') return `${UNIFIED} is not a cgroup2 mount`;
  try {
    if (typeof sys().bpfAttachDeviceFilter !== 'function') return 'berth_sys.node predates bpf.c (run npm run install)';
  } catch (e) {
    return `berth_sys.node cannot be loaded: ${e instanceof Error ? e.message : String(e)}`;
  }
  return false;
}

/** Runs a shell script inside the cgroup: it waits on stdin until it has been moved there. */
async function runInside(addProcess: (pid: number) => void, script: string): Promise<string> {
  const p = spawn('sh', ['-c', `read go; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (b) => (out += b));
  p.stderr.on('data', () => {});
  await new Promise((r) => p.once('spawn', r));
  const exited = new Promise((r) => p.once('exit', r));
  try {
    addProcess(p.pid!);
  } finally {
    p.stdin.end('go\n');
  }
  await exited;
  return out;
}

test('device rules on cgroup v2 are enforced by the attached eBPF program, and an update replaces it', { skip: skipReason() }, async () => {
  const path = `/berth-test-cgroups-v2-devices-${process.pid}`;
  const cg = cgroupManager({ id: 'itest', cgroupsPath: path, mountRoot: UNIFIED, layout: 'v2' });
  try {
    cg.create({
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // /dev/null
        { allow: true, type: 'c', major: 1, minor: 5, access: 'rw' }, // /dev/zero
        { allow: false, type: 'c', major: 1, minor: 5, access: 'w' }, // ... but not for writing
      ],
    });
    const out = await runInside(
      (pid) => cg.addProcess(pid),
      [
        'echo x > /dev/null && echo null-write',
        'head -c1 /dev/zero >/dev/null && echo zero-read',
        'echo x > /dev/zero && echo zero-write',
        'head -c1 /dev/urandom >/dev/null && echo urandom-read',
        'true',
      ].join('; '),
    );
    assert.deepEqual(out.trim().split('\n'), ['null-write', 'zero-read']);

    // An update replaces the filter: were the programs stacked, urandom would stay denied.
    cg.apply({
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 9, access: 'r' }, // /dev/urandom
      ],
    });
    const after = await runInside((pid) => cg.addProcess(pid), 'echo x > /dev/null && echo null-write; [ "$(head -c1 /dev/urandom | wc -c)" = 1 ] && echo urandom-read; true');
    assert.deepEqual(after.trim().split('\n'), ['urandom-read']);
  } finally {
    await cg.destroy();
  }
  assert.equal(existsSync(join(UNIFIED, path)), false);
});
